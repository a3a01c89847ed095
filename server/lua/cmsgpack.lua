-- cmsgpack: MessagePack for scripts, as Redis's lua-cmsgpack 0.4.0 packs and unpacks it (the
-- same bytes, the same errors), written in Lua so the instruction budget counts its work.
local fail, _, pcall = ...

local byte, char, sub, format, rep = string.byte, string.char, string.sub, string.format, string.rep
local concat = table.concat
local floor, frexp, ldexp, huge = math.floor, math.frexp, math.ldexp, math.huge
local type, next, rawget, rawset, select, tostring, tonumber, error, unpack =
  type, next, rawget, rawset, select, tostring, tonumber, error, unpack

local MAX_NESTING = 16  -- deeper tables are packed as nil (so a table holding itself ends)

---------------------------------------------------------------- packing
-- n (a whole number, 0 <= n < 2^64) as `width` big-endian bytes.
local function be(n, width)
  local out = {}
  for i = width, 1, -1 do
    out[i] = n % 256
    n = floor(n / 256)
  end
  return char(unpack(out))
end

-- A negative whole number -2^63 <= n < 0 as `width` bytes of two's complement.
local function be_negative(n, width)
  if width < 8 then return be(n + 2 ^ (8 * width), width) end
  local high = floor(n / 4294967296)  -- exact: n is whole, and these are powers of two
  return be(high + 4294967296, 4) .. be(n - high * 4294967296, 4)
end

local function pack_integer(n)
  if n >= 0 then
    if n <= 127 then return char(n) end
    if n <= 0xff then return "\204" .. be(n, 1) end
    if n <= 0xffff then return "\205" .. be(n, 2) end
    if n <= 0xffffffff then return "\206" .. be(n, 4) end
    return "\207" .. be(n, 8)
  end
  if n >= -32 then return char(256 + n) end
  if n >= -128 then return "\208" .. be_negative(n, 1) end
  if n >= -32768 then return "\209" .. be_negative(n, 2) end
  if n >= -2147483648 then return "\210" .. be_negative(n, 4) end
  return "\211" .. be_negative(n, 8)
end

local function negative_zero(d) return d == 0 and 1 / d < 0 end

-- Whether a double is exactly a single-precision float (C's d == (double)(float)d).
local function is_float(d)
  if d ~= d then return false end
  if d == 0 or d == huge or d == -huge then return true end
  local m, e = frexp(d)
  if e > 128 then return false end
  if e >= -125 then return m * 16777216 == floor(m * 16777216) end
  if e < -148 then return false end
  local scaled = d * 2 ^ 149
  return scaled == floor(scaled)
end

local function sign_of(d)
  if d ~= d then return format("%f", d):sub(1, 1) == "-" and 1 or 0 end
  if d < 0 or negative_zero(d) then return 1 end
  return 0
end

local function pack_float(d)
  local sign, expo, mant = sign_of(d), 0, 0
  local a = d < 0 and -d or d
  if a == huge then
    expo = 255
  elseif a ~= 0 then
    local m, e = frexp(a)
    if e >= -125 then
      expo = e + 126
      mant = (m * 2 - 1) * 8388608
    else
      mant = a * 2 ^ 149
    end
  end
  return "\202" .. be(sign * 2147483648 + expo * 8388608 + mant, 4)
end

local function pack_double(d)
  local sign, expo, mant = sign_of(d), 0, 0
  if d ~= d then
    expo, mant = 2047, 2 ^ 51
  else
    local a = d < 0 and -d or d
    if a == huge then
      expo = 2047
    elseif a ~= 0 then
      local m, e = frexp(a)
      if e >= -1021 then
        expo = e + 1022
        mant = (m * 2 - 1) * 2 ^ 52
      else
        mant = a * 2 ^ 537 * 2 ^ 537
      end
    end
  end
  -- 64 bits: the high 32 hold the sign, the exponent and the top 20 bits of the mantissa.
  local high = sign * 2147483648 + expo * 1048576 + floor(mant / 4294967296)
  return "\203" .. be(high, 4) .. be(mant % 4294967296, 4)
end

local function pack_number(n)
  -- C's (int64_t)n == n: whole, and within int64's range (2^63 itself is not).
  if n == n and n ~= huge and n ~= -huge and floor(n) == n and n >= -9223372036854775808
     and n < 9223372036854775808 then
    return pack_integer(n)
  end
  if is_float(n) then return pack_float(n) end
  return pack_double(n)
end

local function pack_string(s)
  local len = #s
  if len < 32 then return char(0xa0 + len) .. s end
  if len <= 0xff then return "\217" .. be(len, 1) .. s end
  if len <= 0xffff then return "\218" .. be(len, 2) .. s end
  return "\219" .. be(len, 4) .. s
end

local pack_value

-- An array when every key is a whole number from 1 up with no gap; else a map.
local function is_array(t)
  local count, max = 0, 0
  for k in next, t do
    -- (C's (int)k == k: a key of 2^31 or more makes a map)
    if type(k) ~= 'number' or k <= 0 or floor(k) ~= k or k >= 2147483648 then return false end
    if k > max then max = k end
    count = count + 1
  end
  return max == count
end

local function pack_table(t, level, out)
  if is_array(t) then
    local len = #t
    if len <= 15 then out[#out + 1] = char(0x90 + len)
    elseif len <= 0xffff then out[#out + 1] = "\220" .. be(len, 2)
    else out[#out + 1] = "\221" .. be(len, 4) end
    for i = 1, len do pack_value(t[i], level + 1, out) end
    return
  end
  local len = 0
  for _ in next, t do len = len + 1 end
  if len <= 15 then out[#out + 1] = char(0x80 + len)
  elseif len <= 0xffff then out[#out + 1] = "\222" .. be(len, 2)
  else out[#out + 1] = "\223" .. be(len, 4) end
  for k, v in next, t do
    pack_value(k, level + 1, out)
    pack_value(v, level + 1, out)
  end
end

pack_value = function(v, level, out)
  local t = type(v)
  if t == 'table' and level == MAX_NESTING then t = 'nil' end
  if t == 'string' then
    out[#out + 1] = pack_string(v)
  elseif t == 'boolean' then
    out[#out + 1] = v and "\195" or "\194"
  elseif t == 'number' then
    out[#out + 1] = pack_number(v)
  elseif t == 'table' then
    pack_table(v, level, out)
  else
    out[#out + 1] = "\192"
  end
end

local function pack(...)
  local n = select('#', ...)
  if n == 0 then fail("bad argument #0 to 'pack' (MessagePack pack needs input.)") end
  local out = {}
  for i = 1, n do pack_value((select(i, ...)), 0, out) end
  return concat(out)
end

---------------------------------------------------------------- unpacking
local EOF, BADFMT = {}, {}

local uint
uint = function(s, p, width)
  if width == 8 then  -- one rounding to a double, as C's conversion of a uint64 does
    return uint(s, p, 4) * 4294967296 + uint(s, p + 4, 4)
  end
  local n = 0
  for i = p, p + width - 1 do n = n * 256 + byte(s, i) end
  return n
end

local function int(s, p, width)
  local n = uint(s, p, width)
  local half = 2 ^ (8 * width - 1)
  if n >= half then
    if width == 8 then
      -- Two's complement of 64 bits, without passing through 2^64 (it would round).
      local high = uint(s, p, 4)
      if high < 2147483648 then return n end
      return (high - 4294967296) * 4294967296 + uint(s, p + 4, 4)
    end
    return n - 2 * half
  end
  return n
end

local function unpack_float(s, p)
  local b = uint(s, p, 4)
  local sign = b >= 2147483648 and -1 or 1
  local expo = floor(b / 8388608) % 256
  local mant = b % 8388608
  if expo == 255 then
    if mant == 0 then return sign * huge end
    return 0 / 0
  end
  if expo == 0 then return sign * ldexp(mant, -149) end
  return sign * ldexp(mant + 8388608, expo - 150)
end

local function unpack_double(s, p)
  local high, low = uint(s, p, 4), uint(s, p + 4, 4)
  local sign = high >= 2147483648 and -1 or 1
  local expo = floor(high / 1048576) % 2048
  local mant = (high % 1048576) * 4294967296 + low
  if expo == 2047 then
    if mant == 0 then return sign * huge end
    return 0 / 0
  end
  if expo == 0 then return sign * ldexp(mant, -1074) end
  return sign * ldexp(mant + 2 ^ 52, expo - 1075)
end

local decode

-- Reads `width` bytes at p; raises EOF when the input is shorter.
local function need(s, p, width)
  if p + width - 1 > #s then error(EOF, 0) end
end

local function decode_string(s, p, len)
  need(s, p, len)
  return sub(s, p, p + len - 1), p + len
end

local function decode_array(s, p, len)
  local t = {}
  for i = 1, len do
    local v
    v, p = decode(s, p)
    rawset(t, i, v)
  end
  return t, p
end

local function decode_map(s, p, len)
  local t = {}
  for _ = 1, len do
    local k, v
    k, p = decode(s, p)
    v, p = decode(s, p)
    if k == nil then error("table index is nil", 0) end
    if k ~= k then error("table index is NaN", 0) end
    rawset(t, k, v)
  end
  return t, p
end

decode = function(s, p)
  need(s, p, 1)
  local c = byte(s, p)
  p = p + 1
  if c <= 0x7f then return c, p end
  if c >= 0xe0 then return c - 256, p end
  if c >= 0xa0 and c <= 0xbf then return decode_string(s, p, c - 0xa0) end
  if c >= 0x90 and c <= 0x9f then return decode_array(s, p, c - 0x90) end
  if c >= 0x80 and c <= 0x8f then return decode_map(s, p, c - 0x80) end
  if c == 0xc0 then return nil, p end
  if c == 0xc2 then return false, p end
  if c == 0xc3 then return true, p end
  if c == 0xcc or c == 0xcd or c == 0xce then
    local width = 2 ^ (c - 0xcc)
    need(s, p, width)
    return uint(s, p, width), p + width
  end
  -- A uint 64 comes out signed, as lua-cmsgpack pushes it through a C integer.
  if c == 0xd0 or c == 0xd1 or c == 0xd2 or c == 0xd3 or c == 0xcf then
    local width = c == 0xcf and 8 or 2 ^ (c - 0xd0)
    need(s, p, width)
    return int(s, p, width), p + width
  end
  if c == 0xca then need(s, p, 4) return unpack_float(s, p), p + 4 end
  if c == 0xcb then need(s, p, 8) return unpack_double(s, p), p + 8 end
  if c == 0xd9 then need(s, p, 1) return decode_string(s, p + 1, uint(s, p, 1)) end
  if c == 0xda then need(s, p, 2) return decode_string(s, p + 2, uint(s, p, 2)) end
  if c == 0xdb then need(s, p, 4) return decode_string(s, p + 4, uint(s, p, 4)) end
  if c == 0xdc then need(s, p, 2) return decode_array(s, p + 2, uint(s, p, 2)) end
  if c == 0xdd then need(s, p, 4) return decode_array(s, p + 4, uint(s, p, 4)) end
  if c == 0xde then need(s, p, 2) return decode_map(s, p + 2, uint(s, p, 2)) end
  if c == 0xdf then need(s, p, 4) return decode_map(s, p + 4, uint(s, p, 4)) end
  error(BADFMT, 0)
end

-- Decodes up to `limit` values (0: all) from the byte after `offset`.
local function unpack_full(s, limit, offset, fname)
  local ts = type(s)
  if ts == 'number' then
    s = tostring(s)
  elseif ts ~= 'string' then
    fail("bad argument #1 to '" .. fname .. "' (string expected, got " .. (s == nil and "no value" or ts) .. ")")
  end
  local len = #s
  local all = limit == 0 and offset == 0
  if offset < 0 or limit < 0 then
    fail(format("Invalid request to unpack with offset of %d and limit of %d.", offset, len))
  elseif offset > len then
    fail(format("Start offset %d greater than input length %d.", offset, len))
  end
  if all then limit = 2147483647 end
  local results, n, p = {}, 0, offset + 1
  while p <= len and n < limit do
    local ok, v, q = pcall(decode, s, p)
    if not ok then
      if v == EOF then fail("Missing bytes in input.") end
      if v == BADFMT then fail("Bad data format in input.") end
      error(v, 0)
    end
    n = n + 1
    results[n] = v
    p = q
  end
  if all then return unpack(results, 1, n) end
  return p > len and -1 or p - 1, unpack(results, 1, n)
end

local function integer_arg(v, argn, fname, default)
  if v == nil and default ~= nil then return default end
  local n = tonumber(v)
  if n == nil then
    fail("bad argument #" .. argn .. " to '" .. fname .. "' (number expected, got " .. (v == nil and "no value" or type(v)) .. ")")
  end
  return n >= 0 and floor(n) or -floor(-n)
end

return {
  _NAME = "cmsgpack",
  _VERSION = "lua-cmsgpack 0.4.0",
  _COPYRIGHT = "Copyright (C) 2012, Salvatore Sanfilippo",
  _DESCRIPTION = "MessagePack C implementation for Lua",
  pack = pack,
  unpack = function(...) return unpack_full((...), 0, 0, 'unpack') end,
  unpack_one = function(s, offset)
    return unpack_full(s, 1, integer_arg(offset, 2, 'unpack_one', 0), 'unpack_one')
  end,
  unpack_limit = function(s, limit, offset)
    local l = integer_arg(limit, 2, 'unpack_limit')
    return unpack_full(s, l, integer_arg(offset, 3, 'unpack_limit', 0), 'unpack_limit')
  end,
}
