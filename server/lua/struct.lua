-- struct: packing numbers and strings into binary strings for scripts, as Redis's
-- lua_struct 0.2 does it on x86-64 (native order little-endian; short 2 bytes, int 4, long
-- and size_t 8), written in Lua so the instruction budget counts its work.
local fail = ...

local byte, char, sub, find, format, rep = string.byte, string.char, string.sub, string.find, string.format, string.rep
local concat = table.concat
local floor, frexp, ldexp, huge = math.floor, math.frexp, math.ldexp, math.huge
local type, tonumber, tostring, select, unpack = type, tonumber, tostring, select, unpack

local BIG, LITTLE = 0, 1
local MAXINTSIZE, MAXALIGN = 32, 8
local TWO32 = 4294967296

local function argerror(fname, n, msg) fail(format("bad argument #%d to '%s' (%s)", n, fname, msg)) end

-- What luaL_check* call a missing argument: pack keeps a nil just past its arguments.
local function missing(v, n, given, fname)
  if v ~= nil or n <= given or (fname == 'pack' and n >= 2 and n == given + 1) then return type(v) end
  return "no value"
end

local function checkstring(fname, n, v, given)
  local t = type(v)
  if t == 'string' then return v end
  if t == 'number' then return tostring(v) end
  argerror(fname, n, "string expected, got " .. missing(v, n, given or n, fname))
end

local function checknumber(fname, n, v, given)
  local x = tonumber(v)
  if x == nil then argerror(fname, n, "number expected, got " .. missing(v, n, given, fname)) end
  return x
end

-- x AND y for small non-negative whole numbers.
local function band(x, y)
  local r, bit = 0, 1
  while x > 0 and y > 0 do
    if x % 2 == 1 and y % 2 == 1 then r = r + bit end
    x, y, bit = floor(x / 2), floor(y / 2), bit * 2
  end
  return r
end

-- The format's number at position i (or the default): the number and the next position.
local function getnum(fmt, i, default)
  local s, e = find(fmt, "^%d+", i)
  if s == nil then return default, i end
  local a = 0
  for k = s, e do
    local d = byte(fmt, k) - 48
    if a > floor(2147483647 / 10) or a * 10 > 2147483647 - d then fail("integral size overflow") end
    a = a * 10 + d
  end
  return a, e + 1
end

local SIZES = {b = 1, B = 1, h = 2, H = 2, l = 8, L = 8, T = 8, f = 4, d = 8, x = 1}

local function optsize(opt, fmt, i)
  local size = SIZES[opt]
  if size then return size, i end
  if opt == 'c' then return getnum(fmt, i, 1) end
  if opt == 'i' or opt == 'I' then
    local sz
    sz, i = getnum(fmt, i, 4)
    if sz > MAXINTSIZE then fail(format("integral size %d is larger than limit of %d", sz, MAXINTSIZE)) end
    return sz, i
  end
  return 0, i
end

local function gettoalign(len, h, opt, size)
  if size == 0 or opt == 'c' then return 0 end
  if size > h.align then size = h.align end
  return band(size - band(len, size - 1), size - 1)
end

local function controloptions(fname, opt, fmt, i, h)
  if opt == ' ' then return i end
  if opt == '>' then h.endian = BIG return i end
  if opt == '<' then h.endian = LITTLE return i end
  if opt == '!' then
    local a
    a, i = getnum(fmt, i, MAXALIGN)
    if not (a > 0 and band(a, a - 1) == 0) then fail(format("alignment %d is not a power of 2", a)) end
    h.align = a
    return i
  end
  argerror(fname, 1, format("invalid format option '%s'", opt))
end

-- The format up to its first zero byte (C reads it as a C string).
local function cstring(fmt)
  local z = find(fmt, "\0", 1, true)
  if z then return sub(fmt, 1, z - 1) end
  return fmt
end

---------------------------------------------------------------- numbers <-> bytes
-- 64 bits as two unsigned 32-bit halves -> `size` bytes in the given order (bytes past the
-- eighth are zero, as C's shifts of a 64-bit value leave them).
local function put_bits(hi, lo, size, endian)
  local out = {}
  for k = 1, size do
    local b
    if k <= 4 then
      b = lo % 256
      lo = floor(lo / 256)
    elseif k <= 8 then
      b = hi % 256
      hi = floor(hi / 256)
    else
      b = 0
    end
    if endian == LITTLE then out[k] = b else out[size - k + 1] = b end
  end
  return char(unpack(out, 1, size))
end

-- C's conversion of a double to a 64-bit integer for packing: toward zero, two's complement
-- for a negative one.
local function halves(n)
  if n ~= n then return 2147483648, 0 end
  if n >= 0 then
    n = floor(n)
    if n >= 18446744073709551616 then return 0, 0 end  -- x86-64's conversion wraps these to 0
    local hi = floor(n / TWO32)
    return hi, n - hi * TWO32
  end
  n = -floor(-n)
  if n < -9223372036854775808 then return 2147483648, 0 end
  local hi = floor(n / TWO32)  -- negative, exact
  return hi + TWO32, n - hi * TWO32
end

local function float_bits(d)
  -- Round to single precision (to nearest, ties to even), then lay out the bits.
  local sign = 0
  if d < 0 or (d == 0 and 1 / d < 0) then sign = 1; d = -d end
  if d ~= d then return 0xffc00000 end  -- x86's default NaN
  if d == huge then return sign * 2147483648 + 0x7f800000 end
  if d == 0 then return sign * 2147483648 end
  local m, e = frexp(d)
  local expo, mant
  if e >= -125 then
    local scaled = m * 16777216  -- 24 significant bits
    local r = floor(scaled)
    local rest = scaled - r
    if rest > 0.5 or (rest == 0.5 and r % 2 == 1) then r = r + 1 end
    if r == 16777216 then r, e = 8388608, e + 1 end
    if e > 128 then return sign * 2147483648 + 0x7f800000 end
    expo, mant = e + 126, r - 8388608
  else
    local scaled = d * 2 ^ 149
    local r = floor(scaled)
    local rest = scaled - r
    if rest > 0.5 or (rest == 0.5 and r % 2 == 1) then r = r + 1 end
    if r >= 8388608 then expo, mant = 1, r - 8388608 else expo, mant = 0, r end
  end
  return sign * 2147483648 + expo * 8388608 + mant
end

local function double_halves(d)
  local sign = 0
  if d < 0 or (d == 0 and 1 / d < 0) then sign = 1; d = -d end
  if d ~= d then return 0xfff80000, 0 end
  local expo, mant = 0, 0
  if d == huge then
    expo = 2047
  elseif d ~= 0 then
    local m, e = frexp(d)
    if e >= -1021 then
      expo, mant = e + 1022, (m * 2 - 1) * 2 ^ 52
    else
      mant = d * 2 ^ 537 * 2 ^ 537
    end
  end
  return sign * 2147483648 + expo * 1048576 + floor(mant / TWO32), mant % TWO32
end

local function get_bytes(data, pos, size, endian)
  -- The bytes most significant first.
  local b = {byte(data, pos + 1, pos + size)}
  if endian == LITTLE then
    local r = {}
    for k = 1, size do r[k] = b[size - k + 1] end
    b = r
  end
  return b
end

local function getinteger(data, pos, endian, signed, size)
  local b = get_bytes(data, pos, size, endian)
  -- C keeps the last eight bytes shifted in (a 64-bit accumulator).
  local hi, lo = 0, 0
  for k = 1, size do
    hi = (hi % 16777216) * 256 + floor(lo / 16777216)
    lo = (lo % 16777216) * 256 + b[k]
  end
  if signed then
    local s = (size * 8 - 1) % 64  -- the shift C makes for the sign mask
    local negative
    if s >= 32 then negative = floor(hi / 2 ^ (s - 32)) > 0
    else negative = hi > 0 or floor(lo / 2 ^ s) > 0 end
    if negative then
      if s >= 32 then
        hi = hi % 2 ^ (s - 32) + (TWO32 - 2 ^ (s - 32))
      else
        hi, lo = TWO32 - 1, lo % 2 ^ s + (TWO32 - 2 ^ s)
      end
      return (hi - TWO32) * TWO32 + lo
    end
  end
  return hi * TWO32 + lo
end

local function getfloat(data, pos, endian)
  local b = get_bytes(data, pos, 4, endian)
  local bits = ((b[1] * 256 + b[2]) * 256 + b[3]) * 256 + b[4]
  local sign = bits >= 2147483648 and -1 or 1
  local expo, mant = floor(bits / 8388608) % 256, bits % 8388608
  if expo == 255 then return mant == 0 and sign * huge or 0 / 0 end
  if expo == 0 then return sign * ldexp(mant, -149) end
  return sign * ldexp(mant + 8388608, expo - 150)
end

local function getdouble(data, pos, endian)
  local b = get_bytes(data, pos, 8, endian)
  local hi = ((b[1] * 256 + b[2]) * 256 + b[3]) * 256 + b[4]
  local lo = ((b[5] * 256 + b[6]) * 256 + b[7]) * 256 + b[8]
  local sign = hi >= 2147483648 and -1 or 1
  local expo = floor(hi / 1048576) % 2048
  local mant = (hi % 1048576) * TWO32 + lo
  if expo == 2047 then return mant == 0 and sign * huge or 0 / 0 end
  if expo == 0 then return sign * ldexp(mant, -1074) end
  return sign * ldexp(mant + 2 ^ 52, expo - 1075)
end

---------------------------------------------------------------- the library
local INTEGERS = {b = true, B = true, h = true, H = true, l = true, L = true, T = true, i = true, I = true}

local function pack(...)
  local given = select('#', ...)
  local fmt = cstring(checkstring('pack', 1, (...), given))
  local h = {endian = LITTLE, align = 1}
  local arg, total, out, i = 2, 0, {}, 1
  while i <= #fmt do
    local opt = sub(fmt, i, i)
    i = i + 1
    local size
    size, i = optsize(opt, fmt, i)
    local toalign = gettoalign(total, h, opt, size)
    total = total + toalign
    if toalign > 0 then out[#out + 1] = rep("\0", toalign) end
    if INTEGERS[opt] then
      local hi, lo = halves(checknumber('pack', arg, (select(arg, ...)), given))
      arg = arg + 1
      out[#out + 1] = put_bits(hi, lo, size, h.endian)
    elseif opt == 'x' then
      out[#out + 1] = "\0"
    elseif opt == 'f' then
      local bits = float_bits(checknumber('pack', arg, (select(arg, ...)), given))
      arg = arg + 1
      out[#out + 1] = put_bits(0, bits, 4, h.endian)
    elseif opt == 'd' then
      local hi, lo = double_halves(checknumber('pack', arg, (select(arg, ...)), given))
      arg = arg + 1
      out[#out + 1] = put_bits(hi, lo, 8, h.endian)
    elseif opt == 'c' or opt == 's' then
      local s = checkstring('pack', arg, (select(arg, ...)), given)
      arg = arg + 1
      if size == 0 then size = #s end
      if #s < size then argerror('pack', arg, "string too short") end
      out[#out + 1] = sub(s, 1, size)
      if opt == 's' then
        out[#out + 1] = "\0"
        size = size + 1
      end
    else
      i = controloptions('pack', opt, fmt, i, h)
    end
    total = total + size
  end
  return concat(out)
end

local function unpack_(...)
  local given = select('#', ...)
  local fmt_arg, data, init = ...
  local fmt = cstring(checkstring('unpack', 1, fmt_arg, given))
  data = checkstring('unpack', 2, data, given)
  local ld = #data
  local pos = 1
  if init ~= nil then
    pos = checknumber('unpack', 3, init, given)
    pos = pos >= 0 and floor(pos) or -floor(-pos)
  end
  if pos == 0 then argerror('unpack', 3, "offset must be 1 or greater") end
  if pos < 0 then pos = huge else pos = pos - 1 end  -- C's size_t: a negative offset is huge
  local h = {endian = LITTLE, align = 1}
  local results, n, i = {}, 0, 1
  while i <= #fmt do
    local opt = sub(fmt, i, i)
    i = i + 1
    local size
    size, i = optsize(opt, fmt, i)
    pos = pos + gettoalign(pos, h, opt, size)
    if not (size <= ld and pos <= ld - size) then argerror('unpack', 2, "data string too short") end
    if INTEGERS[opt] then
      n = n + 1
      results[n] = getinteger(data, pos, h.endian, opt == 'b' or opt == 'h' or opt == 'l' or opt == 'i', size)
    elseif opt == 'x' then
      -- nothing
    elseif opt == 'f' then
      n = n + 1
      results[n] = getfloat(data, pos, h.endian)
    elseif opt == 'd' then
      n = n + 1
      results[n] = getdouble(data, pos, h.endian)
    elseif opt == 'c' then
      if size == 0 then
        local previous = n > 0 and tonumber(results[n]) or nil
        if previous == nil then fail("format 'c0' needs a previous size") end
        size = previous >= 0 and floor(previous) or -floor(-previous)
        results[n] = nil
        n = n - 1
        if not (size <= ld and pos <= ld - size) then argerror('unpack', 2, "data string too short") end
      end
      n = n + 1
      results[n] = sub(data, pos + 1, pos + size)
    elseif opt == 's' then
      local z = find(data, "\0", pos + 1, true)
      if z == nil then fail("unfinished string in data") end
      n = n + 1
      results[n] = sub(data, pos + 1, z - 1)
      size = z - pos
    else
      i = controloptions('unpack', opt, fmt, i, h)
    end
    pos = pos + size
  end
  n = n + 1
  results[n] = pos + 1
  return unpack(results, 1, n)
end

local function size(...)
  local fmt = cstring(checkstring('size', 1, (...), select('#', ...)))
  local h = {endian = LITTLE, align = 1}
  local pos, i = 0, 1
  while i <= #fmt do
    local opt = sub(fmt, i, i)
    i = i + 1
    local sz
    sz, i = optsize(opt, fmt, i)
    pos = pos + gettoalign(pos, h, opt, sz)
    if opt == 's' then
      argerror('size', 1, "option 's' has no fixed size")
    elseif opt == 'c' and sz == 0 then
      argerror('size', 1, "option 'c0' has no fixed size")
    end
    if not find(opt, "^%w") then i = controloptions('size', opt, fmt, i, h) end
    pos = pos + sz
  end
  return pos
end

return {pack = pack, unpack = unpack_, size = size}
