-- cjson: JSON for scripts, as Redis's lua-cjson 2.1.0 encodes and decodes it (the same
-- output, the same errors), written in Lua so the instruction budget counts its work.
-- Its settings last for the script's run only (Redis keeps them in the server's Lua state).
local fail, null, pcall = ...

local byte, char, sub, find, format, gsub, lower = string.byte, string.char, string.sub, string.find, string.format, string.gsub, string.lower
local concat = table.concat
local floor, huge, frexp = math.floor, math.huge, math.frexp
local type, next, rawget, rawset, tostring, tonumber, select, error, unpack =
  type, next, rawget, rawset, tostring, tonumber, select, error, unpack

local function new()
  local cfg = {
    sparse_convert = 0, sparse_ratio = 2, sparse_safe = 10,
    encode_depth = 1000, decode_depth = 1000, precision = 14,
    keep_buffer = 1, encode_invalid = 0, decode_invalid = 1,
  }

  -- Errors raised inside carry {cjson = message}; the public functions raise them again at
  -- the script's line (fail).
  local function raise(msg) error({cjson = msg}, 0) end

  ---------------------------------------------------------------- encoding
  local escapes = {}
  for i = 0, 31 do escapes[char(i)] = format("\\u%04x", i) end
  escapes["\b"], escapes["\t"], escapes["\n"], escapes["\f"], escapes["\r"] = "\\b", "\\t", "\\n", "\\f", "\\r"
  escapes['"'], escapes["\\"], escapes["/"], escapes["\127"] = '\\"', "\\\\", "\\/", "\\u007f"

  local function quote(s)
    return '"' .. gsub(s, '[%z\1-\31"\\/\127]', escapes) .. '"'
  end

  local function number(n, what)
    if n ~= n or n == huge or n == -huge then
      if cfg.encode_invalid == 1 then
        if n ~= n then return "nan" end
        return n > 0 and "inf" or "-inf"
      elseif cfg.encode_invalid == 2 then
        return "null"
      end
      raise("Cannot serialise " .. what .. ": must not be NaN or Inf")
    end
    return format("%." .. cfg.precision .. "g", n)
  end

  -- A table is an array when every key is a whole number of at least 1 (not too sparse):
  -- its length then, or -1.
  local function array_length(t)
    local max, items = 0, 0
    for k in next, t do
      if type(k) == 'number' and k >= 1 and floor(k) == k then
        -- lua-cjson keeps the largest key in a C int: a key past its range stores INT_MIN
        -- there (x86), and the table is then an object, not an array.
        if k > max then max = k < 2147483648 and k or -2147483648 end
        items = items + 1
      else
        return -1
      end
    end
    if cfg.sparse_ratio > 0 and max > items * cfg.sparse_ratio and max > cfg.sparse_safe then
      if cfg.sparse_convert == 0 then raise("Cannot serialise table: excessively sparse array") end
      return -1
    end
    return max
  end

  local encode_value
  local function encode_table(t, depth, out, n)
    depth = depth + 1
    if depth > cfg.encode_depth then raise("Cannot serialise, excessive nesting (" .. depth .. ")") end
    local len = array_length(t)
    if len > 0 then
      n = n + 1; out[n] = "["
      for i = 1, len do
        if i > 1 then n = n + 1; out[n] = "," end
        n = encode_value(rawget(t, i), depth, out, n)
      end
      n = n + 1; out[n] = "]"
      return n
    end
    n = n + 1; out[n] = "{"
    local first = true
    for k, v in next, t do
      if first then first = false else n = n + 1; out[n] = "," end
      local kt = type(k)
      if kt == 'number' then
        n = n + 1; out[n] = '"' .. number(k, 'number') .. '":'
      elseif kt == 'string' then
        n = n + 1; out[n] = quote(k) .. ":"
      else
        raise("Cannot serialise " .. kt .. ": table key must be a number or string")
      end
      n = encode_value(v, depth, out, n)
    end
    n = n + 1; out[n] = "}"
    return n
  end

  encode_value = function(v, depth, out, n)
    local t = type(v)
    if t == 'string' then
      n = n + 1; out[n] = quote(v)
    elseif t == 'number' then
      n = n + 1; out[n] = number(v, 'number')
    elseif t == 'boolean' then
      n = n + 1; out[n] = v and "true" or "false"
    elseif t == 'table' then
      n = encode_table(v, depth, out, n)
    elseif v == nil or v == null then
      n = n + 1; out[n] = "null"
    else
      raise("Cannot serialise " .. t .. ": type not supported")
    end
    return n
  end

  ---------------------------------------------------------------- decoding
  local T_OBJ_BEGIN, T_OBJ_END, T_ARR_BEGIN, T_ARR_END, T_STRING, T_NUMBER, T_BOOLEAN, T_NULL,
        T_COLON, T_COMMA, T_END, T_ERROR = "T_OBJ_BEGIN", "T_OBJ_END", "T_ARR_BEGIN", "T_ARR_END",
        "T_STRING", "T_NUMBER", "T_BOOLEAN", "T_NULL", "T_COLON", "T_COMMA", "T_END", "T_ERROR"
  local single = {[91] = T_ARR_BEGIN, [93] = T_ARR_END, [123] = T_OBJ_BEGIN, [125] = T_OBJ_END,
                  [44] = T_COMMA, [58] = T_COLON}
  local unescape = {[34] = '"', [92] = "\\", [47] = "/", [98] = "\b", [116] = "\t", [110] = "\n",
                    [102] = "\f", [114] = "\r"}

  local function utf8(cp)
    if cp < 0x80 then return char(cp) end
    if cp < 0x800 then return char(0xC0 + floor(cp / 64), 0x80 + cp % 64) end
    if cp < 0x10000 then
      return char(0xE0 + floor(cp / 4096), 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
    end
    return char(0xF0 + floor(cp / 262144), 0x80 + floor(cp / 4096) % 64, 0x80 + floor(cp / 64) % 64,
                0x80 + cp % 64)
  end

  local function hex4(s, i)
    local h = sub(s, i, i + 3)
    if #h < 4 or find(h, "[^%x]") then return nil end
    return tonumber(h, 16)
  end

  -- How far strtod reads a number from position i (the position after it; i itself when
  -- nothing there is a number).
  local function strtod_end(s, i)
    local p = i
    local c = byte(s, p)
    if c == 43 or c == 45 then p = p + 1 end
    local word = lower(sub(s, p, p + 7))
    if word == "infinity" then return p + 8 end
    if sub(word, 1, 3) == "inf" then return p + 3 end
    if sub(word, 1, 3) == "nan" then
      local _, e = find(s, "^%([%w_]*%)", p + 3)
      return e and e + 1 or p + 3
    end
    if sub(word, 1, 2) == "0x" then
      local _, e1 = find(s, "^%x*", p + 2)
      local digits = e1 - (p + 1)
      local q = e1 + 1
      if byte(s, q) == 46 then
        local _, e2 = find(s, "^%x*", q + 1)
        digits = digits + (e2 - q)
        q = e2 + 1
      end
      if digits == 0 then return p + 1 end  -- the "0" alone
      local _, e3 = find(s, "^[pP][+-]?%d+", q)
      return (e3 or q - 1) + 1
    end
    local _, e1 = find(s, "^%d*", p)
    local digits = e1 - p + 1
    local q = e1 + 1
    if byte(s, q) == 46 then
      local _, e2 = find(s, "^%d*", q + 1)
      digits = digits + (e2 - q)
      q = e2 + 1
    end
    if digits == 0 then return i end
    local _, e3 = find(s, "^[eE][+-]?%d+", q)
    return (e3 or q - 1) + 1
  end

  -- A number JSON does not allow (a sign of +, hex, a leading zero, inf, nan).
  local function invalid_number(s, i)
    local p = i
    local c = byte(s, p)
    if c == 43 then return true end
    if c == 45 then p = p + 1; c = byte(s, p) end
    if c == 48 then
      local c2 = byte(s, p + 1)
      return c2 ~= nil and (c2 == 120 or c2 == 88 or (c2 >= 48 and c2 <= 57))
    elseif c ~= nil and c <= 57 then
      return false
    end
    local w = lower(sub(s, p, p + 2))
    return w == "inf" or w == "nan"
  end

  -- The next token from position i: type, value, position of the token, position after it.
  local function token(s, i)
    local c = byte(s, i)
    while c == 32 or c == 9 or c == 13 or c == 10 do
      i = i + 1
      c = byte(s, i)
    end
    if c == nil or c == 0 then return T_END, nil, i, i end
    local t = single[c]
    if t then return t, nil, i, i + 1 end
    if c == 34 then
      local parts, n, p = {}, 0, i + 1
      while true do
        local q = find(s, '[%z"\\]', p)
        if q == nil then return T_ERROR, "unexpected end of string", #s + 1, nil end
        if q > p then n = n + 1; parts[n] = sub(s, p, q - 1) end
        local d = byte(s, q)
        if d == 34 then return T_STRING, concat(parts), i, q + 1 end
        if d == 0 then return T_ERROR, "unexpected end of string", q, nil end
        local e = byte(s, q + 1)
        if e == 117 then
          local cp = hex4(s, q + 2)
          local len = 6
          if cp == nil then return T_ERROR, "invalid unicode escape code", q, nil end
          if cp >= 0xD800 and cp <= 0xDFFF then
            if cp >= 0xDC00 or sub(s, q + 6, q + 7) ~= "\\u" then
              return T_ERROR, "invalid unicode escape code", q, nil
            end
            local low = hex4(s, q + 8)
            if low == nil or low < 0xDC00 or low > 0xDFFF then
              return T_ERROR, "invalid unicode escape code", q, nil
            end
            cp = (cp - 0xD800) * 1024 + (low - 0xDC00) + 0x10000
            len = 12
          end
          n = n + 1; parts[n] = utf8(cp)
          p = q + len
        else
          local u = unescape[e]
          if u == nil then return T_ERROR, "invalid escape code", q, nil end
          n = n + 1; parts[n] = u
          p = q + 2
        end
      end
    end
    local number_start = c == 45 or (c >= 48 and c <= 57)
    if number_start or (cfg.decode_invalid == 1 and (c == 43 or c == 105 or c == 73 or c == 110 or c == 78)) then
      if number_start and cfg.decode_invalid == 0 and invalid_number(s, i) then
        return T_ERROR, "invalid number", i, nil
      end
      if number_start or sub(s, i, i + 3) ~= "null" then
        if number_start or invalid_number(s, i) then
          local e = strtod_end(s, i)
          if e == i then return T_ERROR, "invalid number", i, nil end
          return T_NUMBER, tonumber(sub(s, i, e - 1)), i, e
        end
      end
    end
    if sub(s, i, i + 3) == "true" then return T_BOOLEAN, true, i, i + 4 end
    if sub(s, i, i + 4) == "false" then return T_BOOLEAN, false, i, i + 5 end
    if sub(s, i, i + 3) == "null" then return T_NULL, nil, i, i + 4 end
    return T_ERROR, "invalid token", i, nil
  end

  local function expected(what, t, v, at)
    raise(format("Expected %s but found %s at character %d", what, t == T_ERROR and v or t, at))
  end

  local decode_value
  local function descend(depth, at)
    depth = depth + 1
    if depth > cfg.decode_depth then
      raise(format("Found too many nested data structures (%d) at character %d", depth, at))
    end
    return depth
  end

  local function decode_object(s, p, depth)
    depth = descend(depth, p - 1)
    local obj = {}
    local t, v, at, q = token(s, p)
    if t == T_OBJ_END then return obj, q end
    while true do
      if t ~= T_STRING then expected("object key string", t, v, at) end
      local key = v
      t, v, at, q = token(s, q)
      if t ~= T_COLON then expected("colon", t, v, at) end
      t, v, at, q = token(s, q)
      v, q = decode_value(s, t, v, at, q, depth)
      rawset(obj, key, v)
      t, v, at, q = token(s, q)
      if t == T_OBJ_END then return obj, q end
      if t ~= T_COMMA then expected("comma or object end", t, v, at) end
      t, v, at, q = token(s, q)
    end
  end

  local function decode_array(s, p, depth)
    depth = descend(depth, p - 1)
    local arr = {}
    local t, v, at, q = token(s, p)
    if t == T_ARR_END then return arr, q end
    local i = 1
    while true do
      v, q = decode_value(s, t, v, at, q, depth)
      rawset(arr, i, v)
      t, v, at, q = token(s, q)
      if t == T_ARR_END then return arr, q end
      if t ~= T_COMMA then expected("comma or array end", t, v, at) end
      t, v, at, q = token(s, q)
      i = i + 1
    end
  end

  decode_value = function(s, t, v, at, q, depth)
    if t == T_STRING or t == T_NUMBER or t == T_BOOLEAN then return v, q end
    if t == T_NULL then return null, q end
    if t == T_OBJ_BEGIN then return decode_object(s, q, depth) end
    if t == T_ARR_BEGIN then return decode_array(s, q, depth) end
    expected("value", t, v, at)
  end

  ---------------------------------------------------------------- the library
  local function one_argument(fname, ...)
    if select('#', ...) ~= 1 then raise("bad argument #1 to '" .. fname .. "' (expected 1 argument)") end
  end

  local function encode(...)
    one_argument('encode', ...)
    local out = {}
    local n = encode_value((...), 0, out, 0)
    return concat(out, "", 1, n)
  end

  local function decode(...)
    one_argument('decode', ...)
    local s = ...
    local ts = type(s)
    if ts == 'number' then
      s = tostring(s)
    elseif ts ~= 'string' then
      raise("bad argument #1 to 'decode' (string expected, got " .. (ts == 'nil' and 'nil' or ts) .. ")")
    end
    if #s >= 2 and (byte(s, 1) == 0 or byte(s, 2) == 0) then
      raise("JSON parser does not support UTF-16 or UTF-32")
    end
    local t, v, at, q = token(s, 1)
    local value
    value, q = decode_value(s, t, v, at, q, 0)
    t, v, at = token(s, q)
    if t ~= T_END then expected("the end", t, v, at) end
    return value
  end

  -- Settings: each takes its new value (nil: keep) and returns the current one.
  local function most(fname, nargs, ...)
    if select('#', ...) > nargs then
      raise("bad argument #" .. (nargs + 1) .. " to '" .. fname .. "' (found too many arguments)")
    end
  end
  local function integer(fname, argn, v, min, max, key)
    if v ~= nil then
      local n = tonumber(v)
      if n == nil then
        raise("bad argument #" .. argn .. " to '" .. fname .. "' (number expected, got " .. type(v) .. ")")
      end
      n = n >= 0 and floor(n) or -floor(-n)
      if n < min or n > max then
        raise(format("bad argument #1 to '%s' (expected integer between %d and %d)", fname, min, max))
      end
      cfg[key] = n
    end
    return cfg[key]
  end
  local on_off = {"off", "on"}
  local function switch(fname, argn, v, key, options)
    options = options or on_off
    if v ~= nil then
      if type(v) == 'boolean' then
        cfg[key] = v and 1 or 0
      else
        local tv = type(v)
        if tv ~= 'string' and tv ~= 'number' then
          raise("bad argument #" .. argn .. " to '" .. fname .. "' (string expected, got " .. tv .. ")")
        end
        local found
        for i = 1, #options do if tostring(v) == options[i] then found = i - 1 end end
        if found == nil then
          raise(format("bad argument #%d to '%s' (invalid option '%s')", argn, fname, tostring(v)))
        end
        cfg[key] = found
      end
    end
    local n = cfg[key]
    if n == 0 or n == 1 then return n == 1 end
    return options[n + 1]
  end

  local lib = {
    encode = encode, decode = decode, null = null, _NAME = "cjson", _VERSION = "2.1.0", new = new,
  }
  lib.encode_sparse_array = function(...)
    most('encode_sparse_array', 3, ...)
    local convert, ratio, safe = ...
    return switch('encode_sparse_array', 1, convert, 'sparse_convert'),
           integer('encode_sparse_array', 2, ratio, 0, 2147483647, 'sparse_ratio'),
           integer('encode_sparse_array', 3, safe, 0, 2147483647, 'sparse_safe')
  end
  lib.encode_max_depth = function(...)
    most('encode_max_depth', 1, ...)
    return integer('encode_max_depth', 1, (...), 1, 2147483647, 'encode_depth')
  end
  lib.decode_max_depth = function(...)
    most('decode_max_depth', 1, ...)
    return integer('decode_max_depth', 1, (...), 1, 2147483647, 'decode_depth')
  end
  lib.encode_number_precision = function(...)
    most('encode_number_precision', 1, ...)
    return integer('encode_number_precision', 1, (...), 1, 14, 'precision')
  end
  lib.encode_keep_buffer = function(...)
    most('encode_keep_buffer', 1, ...)
    return switch('encode_keep_buffer', 1, (...), 'keep_buffer')
  end
  lib.encode_invalid_numbers = function(...)
    most('encode_invalid_numbers', 1, ...)
    return switch('encode_invalid_numbers', 1, (...), 'encode_invalid', {"off", "on", "null"})
  end
  lib.decode_invalid_numbers = function(...)
    most('decode_invalid_numbers', 1, ...)
    return switch('decode_invalid_numbers', 1, (...), 'decode_invalid')
  end

  -- Every function raises its errors at the script's line.
  for name, f in next, lib do
    if type(f) == 'function' and name ~= 'new' then
      lib[name] = function(...)
        local r = {pcall(f, ...)}
        if r[1] then return select(2, unpack(r)) end
        local e = r[2]
        if type(e) == 'table' and rawget(e, 'cjson') then fail(rawget(e, 'cjson')) end
        error(e, 0)
      end
    end
  end
  return lib
end

return new()
