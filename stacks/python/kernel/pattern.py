"""The binary message of the protocol's size form, shared by the Python adapters.

PROTOCOL.md, `send_message` with `size`: byte i is i % 251, so that the receiving side can tell a
message that arrived whole and in order (`intact`) from one cut or mixed up. The same rule as the
Node adapters' stacks/node/kernel/pattern.js: the sender's bytes and the receiver's check must
agree whichever stack is at either end.
"""

MODULUS = 251
_UNIT = bytes(range(MODULUS))


def binary_payload(size):
    """The pattern as `size` bytes: byte i is i % 251."""
    if size < 0:
        raise ValueError(f"size {size} is not a byte count")
    whole, rest = divmod(size, MODULUS)
    return _UNIT * whole + _UNIT[:rest]


def binary_intact(data):
    """Whether received bytes (bytes, bytearray, memoryview) are the pattern."""
    return data == binary_payload(len(data))
