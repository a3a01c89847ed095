"""The Lua libraries scripts get (cjson, bit, cmsgpack, struct) against redis-server 7.0, reply for
reply: what they encode and decode, and the errors they raise. Each line is a script.

A library's error raised by a call in tail position (``return cjson.encode(f)``) names no
line here (Redis's libraries are C functions, which keep the script's frame), so scripts
whose call fails keep it out of tail position (``local x = cjson.encode(f) return x``).
Redis keeps cjson's settings from one script to the next; here each run starts from the
defaults, so after each script Redis's are set back (``RESET``)."""

from __future__ import annotations

import pytest
from commands_differential import against_redis

CJSON = r"""
return cjson.encode({1,2,3,"a/b\"c\n\1", true, false})
return cjson.encode({a=1,b={c=2.5},d="x"})
return cjson.encode({})
return cjson.encode({[1]=1,[3]=3})
local x = cjson.encode({[1]=1,[20]=3}) return x
return cjson.encode({[1]=1,[10]=3})
return cjson.encode({[0]=1})
return cjson.encode({[-1]=1})
return cjson.encode(1/3)
return cjson.encode(1e300)
return cjson.encode(123456789012345678)
local x = cjson.encode(0/0) return x
local x = cjson.encode(1/0) return x
local x = cjson.encode({[1/0]=1}) return x
return cjson.encode(string.char(127,128,255,0,8,9,10,11,12,13,14,31,32))
return cjson.encode(cjson.null)
return tostring(cjson.null)
return type(cjson.null)
local x = cjson.encode({[true]=1}) return x
return cjson.encode({[1.5]=1})
local x = cjson.encode(function() end) return x
local x = cjson.encode() return x
local x = cjson.encode(1,2) return x
return cjson.encode(nil)
local t={} t[1]=t local x = cjson.encode(t) return x
return cjson.encode({x={1,2,{y=-0}}})
return cjson.encode(-0)
return cjson.encode(2^53)
return cjson.encode(0.1)
return cjson.encode({cjson.null, 1})
return cjson.encode({["a b"]={}, [5]="five", z=false})
return cjson.encode(setmetatable({}, {__index=function() return 1 end}))
local t = {} for i = 1, 40 do t["k" .. i] = i end return cjson.encode(t)
local t = {} for i = 1, 10 do t[i * 2] = i end return cjson.encode(t)
local t = {} for i = 1, 30 do t[i] = i end t[25] = nil return cjson.encode(t)
return cjson._NAME .. cjson._VERSION
return {cjson.encode_sparse_array()}
return {cjson.encode_sparse_array(true)}
local a = {cjson.encode_sparse_array(true)} return cjson.encode({[1]=1,[20]=3})
local a = {cjson.encode_sparse_array(false, 0)} return cjson.encode({[1]=1,[200]=3})
return {cjson.encode_sparse_array(1, 2, 3, 4)}
return {cjson.encode_sparse_array("on")}
return {cjson.encode_sparse_array("yes")}
return cjson.encode_max_depth()
local d = cjson.encode_max_depth(2) local x = cjson.encode({{{1}}}) return x
local d = cjson.encode_max_depth(2) return cjson.encode({{1}})
local x = cjson.encode_max_depth(0) return x
local x = cjson.encode_max_depth("x") return x
return cjson.encode_number_precision()
local p = cjson.encode_number_precision(3) return cjson.encode(1/3)
local x = cjson.encode_number_precision(15) return x
return tostring(cjson.encode_keep_buffer())
return tostring(cjson.encode_keep_buffer(false))
return tostring(cjson.encode_invalid_numbers())
local x = cjson.encode_invalid_numbers(true) return cjson.encode({1/0, -1/0})
local x = cjson.encode_invalid_numbers("null") return cjson.encode({1/0, 2})
return cjson.encode_invalid_numbers("null")
return tostring(cjson.decode_invalid_numbers())
local x = cjson.decode_invalid_numbers(false) local y = cjson.decode("0x10") return y
local x = cjson.decode_invalid_numbers(false) local y = cjson.decode("inf") return y
local x = cjson.decode_invalid_numbers(false) return cjson.decode("12")
local c = cjson.new() return c.encode({1})
return cjson.decode_max_depth()
local d = cjson.decode_max_depth(2) return cjson.encode(cjson.decode("[[[1]]]"))
local d = cjson.decode_max_depth(2) return cjson.encode(cjson.decode("  [[1]]"))
local x = cjson.encode(string.rep("[", 1001)) return x
local ok, e = pcall(cjson.decode, string.rep("[", 1001)) return e
local ok, e = pcall(cjson.encode, function() end) return e
local ok, e = pcall(function() local x = cjson.encode(function() end) return x end) return e
return cjson.decode(123)
local x = cjson.decode({}) return x
local x = cjson.decode() return x
local x = cjson.decode(nil) return x
local x = cjson.decode("a", "b") return x
local x = cjson.decode("\0[") return x
return cjson.decode("[1]\0garbage")
local x = cjson.encode({[1/0]=1}) return x
local x = cjson.encode({[2^31]=1}) return x
local x = cjson.encode({[2^31-1]=1}) return x
local x = cjson.encode({1, 2, [2^40]=3}) return x
local x = cjson.encode({[2^40]=3, [3]=1}) return x
local x = bit.band("x") return x
local x = bit.band() return x
local x = bit.tohex() return x
"""

BIT = r"""
local r = {bit.band(0xff, 0x0f), bit.bor(1,2,4), bit.bxor(-1, 5), bit.tohex(255), bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-16, 2)} return r
local r = {bit.tobit(0xffffffff), bit.tobit(2^32 + 5), bit.tobit(-1), bit.tobit(2^31), bit.tobit(1.5), bit.tobit(2.5), bit.tobit(-1.5), bit.tobit(-2.5), bit.tobit(0.49999)} return r
local r = {bit.tobit(2^52), bit.tobit(2^52 + 7), bit.tobit(2^53 + 2), bit.tobit(-2^52 - 3), bit.tobit(2^63), bit.tobit(1e300), bit.tobit(-1e300), bit.tobit(1/0), bit.tobit(0/0)} return r
local r = {bit.tobit(2^51 + 0.5), bit.tobit(-2^51 - 0.5), bit.tobit(2^51 - 0.5), bit.tobit(6755399441055744), bit.tobit(-6755399441055744), bit.tobit(-6755399441055745)} return r
local r = {bit.bnot(0), bit.bnot(-1), bit.bnot(5), bit.bnot(2^31)} return r
local r = {bit.lshift(1, 32), bit.lshift(1, 33), bit.lshift(-1, 1), bit.rshift(1, -1), bit.rshift(0x80000000, 31), bit.arshift(0x80000000, 31), bit.arshift(256, 4)} return r
local r = {bit.rol(0x12345678, 4), bit.ror(0x12345678, 4), bit.rol(0x80000001, 1), bit.ror(1, 1), bit.rol(5, 0), bit.ror(5, 32), bit.rol(5, -1)} return r
local r = {bit.bswap(0x12345678), bit.bswap(-1), bit.bswap(0x80)} return r
local r = {bit.tohex(-1), bit.tohex(255, 2), bit.tohex(255, -2), bit.tohex(0x12345678, 12), bit.tohex(0xabc, -8), bit.tohex(1, 0), bit.tohex(-1, -3)} return r
local r = {bit.band("15", "0x3"), bit.bor("1e1", 1), bit.bxor(1.7, 0)} return r
local r = {bit.band(1), bit.bor(7), bit.bxor(3, 3, 3)} return r
local x = bit.band("x") return x
local x = bit.band() return x
local x = bit.band(1, {}) return x
local x = bit.band(1, nil) return x
local x = bit.tohex() return x
local x = bit.tohex(1, nil) return x
local x = bit.tohex(1, "a") return x
local x = bit.lshift(1) return x
local x = bit.bnot() return x
local x = bit.tobit(nil) return x
local x = bit.tobit(true) return x
local t = {} for k in pairs(bit) do t[#t + 1] = k end table.sort(t) return t
local x = bit.band(0, "0") return x
local x = bit.band("0", 1) return x
"""

CMSGPACK = r"""
return cmsgpack.pack(1, 2, 3)
return cmsgpack.pack(0, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, 2^53, 2^62, 2^63, 2^64)
return cmsgpack.pack(-1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, -2^53, -2^62, -2^63, -2^64)
return cmsgpack.pack(0.5, 1.5, -2.25, 0.1, 1/3, 1e300, -1e-300, 1e-310, 1e-45, 1.4e-45, 3.4e38, 3.5e38, -0.0)
return cmsgpack.pack(1/0, -1/0, 0/0)
return cmsgpack.pack("", "a", string.rep("x", 31), string.rep("x", 32), string.rep("y", 255), string.rep("z", 256), string.rep("w", 65535), string.rep("v", 65536))
return cmsgpack.pack(true, false, nil)
return cmsgpack.pack({}, {1, 2, 3}, {a = 1}, {1, 2, nil, 4}, {[1] = 1, [3] = 3}, {[0] = 1}, {[2^31] = 1}, {[1.5] = 2})
return cmsgpack.pack({a = {b = {c = {1, 2, {d = "e"}}}}, x = true})
local t = {} for i = 1, 16 do t[i] = i end return cmsgpack.pack(t)
local t = {} for i = 1, 70000 do t[i] = i % 200 end return #cmsgpack.pack(t)
local t = {} for i = 1, 20 do t["k" .. i] = i end return cmsgpack.pack(t)
local t = {} t[1] = t return cmsgpack.pack(t)
local t = {} local c = t for i = 1, 20 do c[1] = {} c = c[1] end return cmsgpack.pack(t)
return cmsgpack.pack(function() end)
local x = cmsgpack.pack() return x
return cmsgpack.pack(setmetatable({}, {__index = function(t, k) return k * 10 end}))
return {cmsgpack.unpack(cmsgpack.pack(1, "two", 3.5, true, false, {1, 2}, {a = "b"}))}
local v = {cmsgpack.unpack(cmsgpack.pack(0, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, 2^53, 2^62))} return v
local v = {cmsgpack.unpack(cmsgpack.pack(-1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, -2^53, -2^62, -2^63))} for i = 1, #v do v[i] = tostring(v[i]) end return v
local v = {cmsgpack.unpack(cmsgpack.pack(0.5, 1.5, -2.25, 0.1, 1/3, 1e300, -1e-300, 1e-310, 1e-45, 3.4e38, 1/0, -1/0))} for i = 1, #v do v[i] = tostring(v[i]) end return v
local v = cmsgpack.unpack(cmsgpack.pack(0/0)) return tostring(v)
local v = {cmsgpack.unpack("\207\255\255\255\255\255\255\255\255", "\211\128\0\0\0\0\0\0\0")} for i = 1, #v do v[i] = string.format("%.17g", v[i]) end return v
local v = {cmsgpack.unpack("\207\0\32\0\0\0\0\0\1", "\211\255\255\255\255\255\255\255\255", "\211\255\223\255\255\255\255\255\255")} for i = 1, #v do v[i] = string.format("%.17g", v[i]) end return v
local v = {cmsgpack.unpack("\196\3abc", "\197\0\2xy", "\217\1z")} return v
local v = {cmsgpack.unpack("\199\1\1a")} return v
local v = {cmsgpack.unpack("\212\1\1")} return v
local v = {cmsgpack.unpack("\193")} return v
local v = {cmsgpack.unpack("\205\1")} return v
local v = {cmsgpack.unpack("\147\1\2")} return v
local v = {cmsgpack.unpack("\165abc")} return v
local v = {cmsgpack.unpack("")} return #v
local v = {cmsgpack.unpack("\129\192\1")} return v
local v = {cmsgpack.unpack("\129\1\192")} return #v
local v = {cmsgpack.unpack("\147\1\192\3")} return {#v[1], v[1][3]}
local v = {cmsgpack.unpack(12)} return v
local v = {cmsgpack.unpack({})} return v
local v = {cmsgpack.unpack()} return v
local v = {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))} return v
local v = {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1)} return v
local v = {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 2)} return v
local v = {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 3)} return v
local v = {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 4)} return v
local v = {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), -1)} return v
local v = {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), "x")} return v
local v = {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)} return v
local v = {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 2)} return v
local v = {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0)} return v
local v = {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 5, 1)} return v
local v = {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3))} return v
local v = {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), -1)} return v
local v = {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 1.7, 1.2)} return v
return {cmsgpack._NAME, cmsgpack._VERSION, cmsgpack._COPYRIGHT, cmsgpack._DESCRIPTION}
local t = {} for k in pairs(cmsgpack) do t[#t + 1] = k end table.sort(t) return t
local ok, e = pcall(cmsgpack.unpack, "\205") return e
local v = cmsgpack.unpack(cmsgpack.pack({[true] = 1, [false] = 2})) return {v[true], v[false]}
local v = cmsgpack.unpack(cmsgpack.pack(string.rep("q", 70000))) return #v
local v = {cmsgpack.unpack("\217\1z")} return v
local v = {cmsgpack.unpack("\196\3abc")} return v
local v = {cmsgpack.unpack("\207\128\0\0\0\0\0\0\0")} for i = 1, #v do v[i] = string.format("%.17g", v[i]) end return v
local v = {cmsgpack.unpack("\207\127\255\255\255\255\255\255\255")} for i = 1, #v do v[i] = string.format("%.17g", v[i]) end return v
local v = {cmsgpack.unpack("\206\255\255\255\255")} return v
"""

STRUCT = r"""
return struct.pack("b", 1)
return struct.pack(">i", 1)
return struct.pack("<i", -2)
return struct.pack("bBhHlLTiI", -1, 255, -300, 65535, -5, 2^40, 7, -70000, 4000000000)
return struct.pack(">bBhHlLTiI", -1, 255, -300, 65535, -5, 2^40, 7, -70000, 4000000000)
return struct.pack("i1i2i3i5i7i8", 1, 2, 3, 4, 5, 6)
return struct.pack("i16", -1)
return struct.pack(">i12", -2)
return struct.pack("I16", 2^60)
local x = struct.pack("i33", 1) return x
return struct.pack("b", 1.9)
return struct.pack("b", -1.9)
return struct.pack("b", 300)
return struct.pack("h", 2^20 + 5)
return struct.pack("l", 2^63)
return struct.pack("l", -2^63)
return struct.pack("L", 2^64)
return struct.pack("l", 1/0)
return struct.pack("f", 1.5)
return struct.pack(">f", -0.1)
return struct.pack("f", 1/3)
return struct.pack("f", 1e40)
return struct.pack("f", 1e-40)
return struct.pack("f", 1e-50)
return struct.pack("f", 0/0)
return struct.pack("f", -0.0)
return struct.pack("f", 16777217)
return struct.pack("f", 3.4028235677973366e38)
return struct.pack("d", 1.5)
return struct.pack(">d", -0.1)
return struct.pack("d", 1e-310)
return struct.pack("d", 1/0)
return struct.pack("d", 0/0)
return struct.pack("c", "abc")
return struct.pack("c2", "abc")
return struct.pack("c0", "abc")
local x = struct.pack("c5", "abc") return x
return struct.pack("s", "abc")
return struct.pack("s", "a\0b")
return struct.pack("x")
return struct.pack("bxb", 1, 2)
return struct.pack("!bi", 1, 2)
return struct.pack("!2bi", 1, 2)
return struct.pack("!bd", 1, 2)
return struct.pack("!4bhbib", 1, 2, 3, 4, 5)
return struct.pack("!bc3i", 1, "abc", 2)
return struct.pack("! b i", 1, 2)
local x = struct.pack("!3bi", 1, 2) return x
local x = struct.pack("!0bi", 1, 2) return x
local x = struct.pack("z", 1) return x
local x = struct.pack("=i", 1) return x
local x = struct.pack("i") return x
local x = struct.pack("i", "x") return x
local x = struct.pack("i", "12") return x
local x = struct.pack() return x
local x = struct.pack({}) return x
local x = struct.pack(5) return x
local x = struct.pack("c", 5) return x
local x = struct.pack("c", {}) return x
local x = struct.pack("i99999999999", 1) return x
local x = struct.pack("i\0i", 1, 2) return x
return {struct.unpack("b", "\255")}
return {struct.unpack("B", "\255")}
return {struct.unpack("<h", "\1\2")}
return {struct.unpack(">h", "\1\2")}
return {struct.unpack(">H", "\255\254")}
return {struct.unpack(">h", "\255\254")}
return {struct.unpack("l", "\255\255\255\255\255\255\255\255")}
return {struct.unpack("L", "\255\255\255\255\255\255\255\255")}
local r = {struct.unpack("L", "\255\255\255\255\255\255\255\127")} return {tostring(r[1]), r[2]}
local r = {struct.unpack("l", "\0\0\0\0\0\0\0\128")} return {tostring(r[1]), r[2]}
return {struct.unpack("i3", "\255\255\255")}
return {struct.unpack("I3", "\255\255\255")}
return {struct.unpack("i16", string.rep("\255", 16))}
return {struct.unpack("I12", string.rep("\1", 12))}
return {struct.unpack("i9", "\0\0\0\0\0\0\0\0\1")}
return {struct.unpack(">i9", "\1\0\0\0\0\0\0\0\128")}
local r = {struct.unpack("f", struct.pack("f", 1.5))} return {tostring(r[1]), r[2]}
local r = {struct.unpack(">f", struct.pack(">f", -0.1))} return {tostring(r[1]), r[2]}
local r = {struct.unpack("f", struct.pack("f", 1e-40))} return {tostring(r[1]), r[2]}
local r = {struct.unpack("f", "\0\0\128\127")} return {tostring(r[1]), r[2]}
local r = {struct.unpack("d", struct.pack("d", 0.1))} return {tostring(r[1]), r[2]}
local r = {struct.unpack(">d", struct.pack(">d", -1e-310))} return {tostring(r[1]), r[2]}
return {struct.unpack("c3", "abcdef")}
return {struct.unpack("c3c2", "abcdef")}
return {struct.unpack("bc0", "\3abcdef")}
return {struct.unpack("c1c0", "3abcdef")}
local x = {struct.unpack("c0", "abc")} return x
local x = {struct.unpack("c1c0", "xabcdef")} return x
return {struct.unpack("s", "abc\0def")}
return {struct.unpack("ss", "abc\0def\0")}
local x = {struct.unpack("s", "abc")} return x
return {struct.unpack("bxb", "\1\2\3")}
return {struct.unpack("!bi", "\1\0\0\0\2\0\0\0")}
return {struct.unpack("b", "\1\2\3", 2)}
return {struct.unpack("b", "\1\2\3", 3)}
local x = {struct.unpack("b", "\1\2\3", 4)} return x
local x = {struct.unpack("b", "\1\2\3", 0)} return x
local x = {struct.unpack("b", "\1\2\3", -1)} return x
local x = {struct.unpack("i", "\1\2\3")} return x
local x = {struct.unpack("i")} return x
local x = {struct.unpack("i", {})} return x
local x = {struct.unpack("z", "abc")} return x
return {struct.unpack("", "abc")}
return {struct.unpack("b", "\1\2\3", "2")}
local x = {struct.unpack("b", "\1\2\3", "x")} return x
return {struct.unpack("b", 123)}
return struct.size("bhilT")
return struct.size("!bhilT")
return struct.size("!4bd")
return struct.size("c3c")
return struct.size("i7")
return struct.size("z")
return struct.size("<>")
local x = struct.size("s") return x
local x = struct.size("c0") return x
local x = struct.size("!3") return x
local x = struct.size("#") return x
local x = struct.size() return x
local t = {} for k in pairs(struct) do t[#t + 1] = k end table.sort(t) return t
local x = struct.pack("ii", 1) return x
local x = struct.pack("iii", 1) return x
local x = struct.pack("c") return x
local x = struct.pack("icc", 1) return x
local x = {struct.unpack("i")} return x
local x = {struct.unpack()} return x
return struct.pack("L", 2^63 + 2^12)
return struct.pack("l", -2^64)
return struct.pack("l", -1/0)
return struct.pack("L", 0/0)
"""

# Each is given to cjson.decode, and what comes out is encoded again.
JSON_TEXTS = [
    '[1,2,3]',
    '"str"',
    '12.5e1',
    '{',
    '[1,2',
    '{"a" 1}',
    'nul',
    '[1,]',
    '{"a":1,}',
    '"abc',
    '01',
    '-',
    '1.',
    '"\\x"',
    '"\\u12"',
    '[1] x',
    'tru',
    '{1:2}',
    '1e5000',
    '-0',
    '0x10',
    '0X1P3',
    '0x',
    '-0x1.8',
    'NaN',
    'nan(abc)',
    'inf',
    'Infinity',
    '-inf',
    '+5',
    '+x',
    '.5',
    '-.5',
    '1e',
    '1e+',
    '12abc',
    '  [ 1 , 2 ]  ',
    '{"a":{"b":{"c":[]}}}',
    '"\\ud83d\\ude00"',
    '"\\ud83d"',
    '"\\ude00"',
    '"\\ud83dx"',
    '"\\ud83d\\u0041"',
    '"\\u00e9\\u0000z"',
    '"tab\tin"',
    '"\\/\\"\\\\\\b\\f\\n\\r\\t"',
    '{"b":1,"a":2,"c":{"x":[true,false,null]}}',
    '[null,null]',
    '{"a":null}',
    '[1,[2,[3,[4]]]]',
    '{"":1}',
    '{"a":1,"a":2}',
    'true',
    'false',
    'null',
    'truex',
    '[true false]',
    '"\\"',
    '"abc\\',
    '1.5e-3',
    '123456789012345678901234567890',
    '-1e-400',
    '',
    '  [ 1 , 2 ]  ',
    '"tab\tin"',
    '"a\nb"',
    '[1]\x00garbage',
    '\x00[',
]

DECODE = ('local v = cjson.decode(ARGV[1]) if type(v) == "table" then return cjson.encode(v) end '
          'return {type(v), tostring(v)}')

RESET = ("cjson.encode_sparse_array(false, 2, 10) cjson.encode_max_depth(1000) cjson.decode_max_depth(1000) "
         "cjson.encode_number_precision(14) cjson.encode_keep_buffer(true) cjson.encode_invalid_numbers(false) "
         "cjson.decode_invalid_numbers(true)")


def _entries(commands: list[list[bytes]]):
    out = []
    for n, argv in enumerate(commands, 1):
        out.append((n, "", argv))
        out.append((n, "?redis", [b"EVAL", RESET.encode(), b"0"]))
    return out


def _scripts(text: str):
    return _entries([[b"EVAL", line.encode(), b"0"] for line in text.strip().splitlines()])


@pytest.mark.parametrize("library", ["CJSON", "BIT", "CMSGPACK", "STRUCT"])
def test_library_scripts_match_redis(redis_server, library):
    problems = against_redis(redis_server, _scripts(globals()[library]))
    assert not problems, "\n".join(problems)


def test_json_texts_decode_as_in_redis(redis_server):
    commands = [[b"EVAL", DECODE.encode(), b"0", text.encode("latin-1")] for text in JSON_TEXTS]
    problems = against_redis(redis_server, _entries(commands))
    assert not problems, "\n".join(problems)
