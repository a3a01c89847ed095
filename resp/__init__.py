"""RESP2/RESP3 codec, sans-I/O: request bytes in, commands out; replies in, bytes out."""

from resp.encoder import encode, encode_many
from resp.parser import ProtocolError, RequestParser
from resp.types import (
    EMPTY_ARRAY,
    NULL_ARRAY,
    OK,
    PONG,
    QUEUED,
    RESET,
    Double,
    ErrorReply,
    Map,
    Push,
    Raw,
    SetReply,
    SimpleString,
    Verbatim,
)

__all__ = [
    "EMPTY_ARRAY",
    "NULL_ARRAY",
    "OK",
    "PONG",
    "QUEUED",
    "RESET",
    "Double",
    "ErrorReply",
    "Map",
    "ProtocolError",
    "Push",
    "Raw",
    "RequestParser",
    "SetReply",
    "SimpleString",
    "Verbatim",
    "encode",
    "encode_many",
]
