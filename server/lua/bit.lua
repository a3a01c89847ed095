-- bit: 32-bit operations for scripts, as Redis's LuaBitOp 1.0 gives them (results are
-- signed 32-bit numbers), written in Lua with arithmetic.
local fail = ...

local floor, frexp, huge = math.floor, math.frexp, math.huge
local type, tonumber, select, sub, concat = type, tonumber, select, string.sub, table.concat

local TWO32, TWO31 = 4294967296, 2147483648

-- LuaBitOp's conversion: add 2^52 + 2^51 and keep the low 32 bits of the double's mantissa
-- (rounds to the nearest integer and wraps modulo 2^32).
local function bits(v, argn, fname)
  local n = tonumber(v)
  if n == nil then
    fail("bad argument #" .. argn .. " to '" .. fname .. "' (number expected, got " .. type(v) .. ")")
  end
  local x = n + 6755399441055744.0
  if x ~= x or x == huge or x == -huge or x == 0 then return 0 end
  local m = frexp(x)
  if m < 0 then m = -m end
  return (m * 9007199254740992.0) % TWO32
end

local function signed(b)
  if b >= TWO31 then return b - TWO32 end
  return b
end

-- Bitwise AND, OR and XOR of two unsigned 32-bit values, four bits at a time.
local AND, OR, XOR = {}, {}, {}
for a = 0, 15 do
  for c = 0, 15 do
    local r_and, r_or, r_xor, bit = 0, 0, 0, 1
    for _ = 0, 3 do
      local x, y = floor(a / bit) % 2, floor(c / bit) % 2
      if x == 1 and y == 1 then r_and = r_and + bit end
      if x == 1 or y == 1 then r_or = r_or + bit end
      if x ~= y then r_xor = r_xor + bit end
      bit = bit * 2
    end
    AND[a * 16 + c], OR[a * 16 + c], XOR[a * 16 + c] = r_and, r_or, r_xor
  end
end

local function combine(table_, a, c)
  local r, place = 0, 1
  for _ = 1, 8 do
    r = r + table_[(a % 16) * 16 + (c % 16)] * place
    a, c, place = floor(a / 16), floor(c / 16), place * 16
  end
  return r
end

local function reducer(fname, table_)
  return function(...)
    local n = select('#', ...)
    if n == 0 then fail("bad argument #1 to '" .. fname .. "' (number expected, got no value)") end
    local r = bits((...), 1, fname)
    for i = 2, n do
      r = combine(table_, r, bits((select(i, ...)), i, fname))
    end
    return signed(r)
  end
end

-- The argument check for functions of a fixed arity: a missing argument is "no value".
local function argument(fname, i, n, v)
  if i > n then fail("bad argument #" .. i .. " to '" .. fname .. "' (number expected, got no value)") end
  return bits(v, i, fname)
end

local function shift_count(fname, n, v)
  return argument(fname, 2, n, v) % 32
end

local lib = {
  tobit = function(...) return signed(argument('tobit', 1, select('#', ...), (...))) end,
  bnot = function(...) return signed(TWO32 - 1 - argument('bnot', 1, select('#', ...), (...))) end,
  band = reducer('band', AND),
  bor = reducer('bor', OR),
  bxor = reducer('bxor', XOR),
  lshift = function(...)
    local n, a, s = select('#', ...), ...
    local b = argument('lshift', 1, n, a)
    return signed((b * 2 ^ shift_count('lshift', n, s)) % TWO32)
  end,
  rshift = function(...)
    local n, a, s = select('#', ...), ...
    local b = argument('rshift', 1, n, a)
    return signed(floor(b / 2 ^ shift_count('rshift', n, s)))
  end,
  arshift = function(...)
    local n, a, s = select('#', ...), ...
    local b = signed(argument('arshift', 1, n, a))
    return signed(floor(b / 2 ^ shift_count('arshift', n, s)) % TWO32)
  end,
  rol = function(...)
    local n, a, s = select('#', ...), ...
    local b, k = argument('rol', 1, n, a), shift_count('rol', n, s)
    return signed((b * 2 ^ k) % TWO32 + floor(b / 2 ^ (32 - k)))
  end,
  ror = function(...)
    local n, a, s = select('#', ...), ...
    local b, k = argument('ror', 1, n, a), shift_count('ror', n, s)
    return signed(floor(b / 2 ^ k) + (b * 2 ^ (32 - k)) % TWO32)
  end,
  bswap = function(...)
    local b = argument('bswap', 1, select('#', ...), (...))
    local b0, b1, b2, b3 = b % 256, floor(b / 256) % 256, floor(b / 65536) % 256, floor(b / 16777216)
    return signed(((b0 * 256 + b1) * 256 + b2) * 256 + b3)
  end,
  tohex = function(...)
    local n, a, w = select('#', ...), ...
    local b = argument('tohex', 1, n, a)
    local digits = "0123456789abcdef"
    local width = 8
    if n >= 2 then width = signed(bits(w, 2, 'tohex')) end
    if width < 0 then width, digits = -width, "0123456789ABCDEF" end
    if width > 8 then width = 8 end
    local out = {}
    for i = width, 1, -1 do
      local d = b % 16
      out[i] = sub(digits, d + 1, d + 1)
      b = floor(b / 16)
    end
    return concat(out)
  end,
}
return lib
