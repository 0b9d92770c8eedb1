"""
The VP8 RTP payload descriptor (RFC 7741 §4.2), read and rewritten for simulcast and temporal layers.

A publisher sends each simulcast layer as its own RTP stream, with its own picture IDs and
TL0PICIDX. A subscriber is forwarded one layer at a time, switched on keyframes, and may be
spared the upper temporal layers. Its decoder must still see one continuous stream: picture IDs
one apart per frame and TL0PICIDX one apart per base-layer frame, or it takes the gaps for loss
and asks for keyframes it does not need. ``Vp8Rewriter`` keeps those numbers continuous by adding
an offset to them, as mediasoup and LiveKit do.

This runs per forwarded packet: parsing happens once per frame, the rewrite patches at most
three bytes of a copy, and nothing is copied while the output numbers equal the input ones.

Descriptor layout::

    byte 0:      X R N S R PID(3)        X: extension byte follows; S: start of partition PID
    if X:        I L T K RSV(4)          I: picture ID, L: TL0PICIDX, T: TID/Y, K: KEYIDX
    if I:        M PictureID(7) [PictureID low 8]   M=1: 15-bit picture ID in two bytes
    if L:        TL0PICIDX(8)
    if T or K:   TID(2) Y(1) KEYIDX(5)
"""

from __future__ import annotations

PICTURE_ID_MODULUS = 1 << 15
PICTURE_ID_MASK_7_BIT = 0x7F
PICTURE_ID_MASK_15_BIT = 0x7FFF
TL0PICIDX_MASK = 0xFF

_X_BIT = 0x80
_I_BIT = 0x80
_L_BIT = 0x40
_T_BIT = 0x20
_TK_BITS = 0x30
_M_BIT = 0x80
_Y_BIT = 0x20
# S set and partition index 0 in byte 0: the first packet of a frame.
_START_MASK = 0x17
_START_VALUE = 0x10


class Vp8FrameInfo:
    """
    What the forwarding decision needs from a frame, parsed once from its first packet.

    ``tid`` is 0 and ``layer_sync`` False when the descriptor has no T bit: a stream without
    temporal layers is all base layer.
    """

    __slots__ = ("is_keyframe", "layer_sync", "long_picture_id", "picture_id", "tid", "tl0picidx")

    def __init__(
        self,
        picture_id: int | None,
        long_picture_id: bool,
        tl0picidx: int | None,
        tid: int,
        layer_sync: bool,
        is_keyframe: bool,
    ) -> None:
        self.picture_id = picture_id
        self.long_picture_id = long_picture_id
        self.tl0picidx = tl0picidx
        self.tid = tid
        self.layer_sync = layer_sync
        self.is_keyframe = is_keyframe

    def __repr__(self) -> str:
        return (
            f"Vp8FrameInfo(picture_id={self.picture_id}, long_picture_id={self.long_picture_id},"
            f" tl0picidx={self.tl0picidx}, tid={self.tid}, layer_sync={self.layer_sync},"
            f" is_keyframe={self.is_keyframe})"
        )


def descriptor_length(payload: bytes) -> int:
    """
    The length in bytes of the payload descriptor that opens ``payload``, or -1 when the
    payload ends inside it or carries no VP8 data after it (RFC 7741 forbids an empty one).
    """
    size = len(payload)
    if not size:
        return -1
    if not payload[0] & _X_BIT:
        return 1 if size > 1 else -1
    if size < 2:
        return -1
    flags = payload[1]
    length = 2
    if flags & _I_BIT:
        if size <= length:
            return -1
        length += 2 if payload[length] & _M_BIT else 1
    if flags & _L_BIT:
        length += 1
    if flags & _TK_BITS:
        length += 1
    return length if size > length else -1


def starts_frame(payload: bytes) -> bool:
    """The packet opens a frame: S is set and the partition index is 0."""
    return bool(payload) and payload[0] & _START_MASK == _START_VALUE


def is_keyframe_payload(payload: bytes) -> bool:
    """
    The packet opens a keyframe: it starts the frame and its VP8 payload header's first byte
    has the inverse key frame flag, its low bit, clear (RFC 6386 §9.1).
    """
    if not starts_frame(payload):
        return False
    length = descriptor_length(payload)
    return length > 0 and not payload[length] & 0x01


def parse_frame_info(first_payload: bytes) -> Vp8FrameInfo | None:
    """The frame's numbering and layer from its first packet; None for a payload too short to read."""
    length = descriptor_length(first_payload)
    if length < 0:
        return None
    picture_id: int | None = None
    long_picture_id = False
    tl0picidx: int | None = None
    tid = 0
    layer_sync = False
    if first_payload[0] & _X_BIT:
        flags = first_payload[1]
        index = 2
        if flags & _I_BIT:
            high = first_payload[index]
            if high & _M_BIT:
                picture_id = (high & 0x7F) << 8 | first_payload[index + 1]
                long_picture_id = True
                index += 2
            else:
                picture_id = high
                index += 1
        if flags & _L_BIT:
            tl0picidx = first_payload[index]
            index += 1
        if flags & _T_BIT:
            # With K alone the byte carries only KEYIDX: TID and Y are then meaningless.
            tid = first_payload[index] >> 6
            layer_sync = bool(first_payload[index] & _Y_BIT)
    is_keyframe = starts_frame(first_payload) and not first_payload[length] & 0x01
    return Vp8FrameInfo(picture_id, long_picture_id, tl0picidx, tid, layer_sync, is_keyframe)


class Vp8Rewriter:
    """
    One subscriber's view of one forwarded track.

    Output numbers are input numbers plus an offset (picture IDs modulo 2**15, TL0PICIDX modulo
    256). A switch to another source stream sets the offset so that its first frame follows the
    last one sent; a frame held back lowers it by one, so the next frame closes the gap. Loss
    upstream is left visible: the subscriber should see it as the publisher's stream had it.

    ``forward()`` snapshots the offsets for the frame's packets, so a ``drop()`` decided before
    they are all rewritten does not change them.
    """

    __slots__ = (
        "_frame_identity",
        "_frame_picture_id_offset",
        "_frame_tl0_offset",
        "_last_picture_id",
        "_last_tl0picidx",
        "_picture_id_offset",
        "_tl0_offset",
    )

    def __init__(self) -> None:
        self._picture_id_offset = 0
        self._tl0_offset = 0
        self._last_picture_id: int | None = None
        self._last_tl0picidx: int | None = None
        self._frame_picture_id_offset = 0
        self._frame_tl0_offset = 0
        self._frame_identity = True

    @property
    def last_picture_id(self) -> int | None:
        """The picture ID of the last frame sent, as sent; None before the first."""
        return self._last_picture_id

    @property
    def last_tl0picidx(self) -> int | None:
        """The TL0PICIDX of the last frame sent, as sent; None before the first."""
        return self._last_tl0picidx

    def forward(self, info: Vp8FrameInfo, switched: bool) -> None:
        """
        Number the next frame sent. ``switched`` says it opens another source stream (a layer
        switch or the publisher's new SSRC): it then follows the last frame sent, a new picture
        and, being a keyframe of the base layer, a new TL0PICIDX. The very first frame of each
        numbering keeps its own value.
        """
        picture_id = info.picture_id
        if picture_id is not None:
            if self._last_picture_id is None:
                self._picture_id_offset = 0
            elif switched:
                self._picture_id_offset = (self._last_picture_id + 1 - picture_id) % PICTURE_ID_MODULUS
            mask = PICTURE_ID_MASK_15_BIT if info.long_picture_id else PICTURE_ID_MASK_7_BIT
            self._last_picture_id = (picture_id + self._picture_id_offset) & mask
        tl0picidx = info.tl0picidx
        if tl0picidx is not None:
            if self._last_tl0picidx is None:
                self._tl0_offset = 0
            elif switched:
                # A switch frame is a keyframe, so base layer; should one not be, it belongs to
                # the base-layer picture last sent rather than opening a new one.
                step = 1 if info.tid == 0 else 0
                self._tl0_offset = (self._last_tl0picidx + step - tl0picidx) & TL0PICIDX_MASK
            self._last_tl0picidx = (tl0picidx + self._tl0_offset) & TL0PICIDX_MASK
        self._frame_picture_id_offset = self._picture_id_offset
        self._frame_tl0_offset = self._tl0_offset
        self._frame_identity = not (self._picture_id_offset or self._tl0_offset)

    def drop(self, info: Vp8FrameInfo) -> None:
        """
        Hold back a frame of the current source stream (a temporal layer above the target): the
        frames after it move down one picture ID. A base-layer frame should never be held back,
        but if one is, the next one takes its TL0PICIDX too, so the output stays continuous.
        """
        if info.picture_id is not None:
            self._picture_id_offset = (self._picture_id_offset - 1) % PICTURE_ID_MODULUS
        if info.tl0picidx is not None and info.tid == 0:
            self._tl0_offset = (self._tl0_offset - 1) & TL0PICIDX_MASK

    def rewrite(self, payload: bytes) -> bytes:
        """
        A packet of the frame last passed to ``forward()``, with the output picture ID and
        TL0PICIDX. ``payload`` itself, not a copy, when these equal its own: the common case of
        no switch or drop yet costs one attribute read. The picture ID keeps its width.
        """
        if self._frame_identity:
            return payload
        size = len(payload)
        if size < 3 or not payload[0] & _X_BIT:
            return payload
        flags = payload[1]
        if not flags & (_I_BIT | _L_BIT):
            return payload
        # -1: the packet has no such field. ``index`` ends where TL0PICIDX sits, after the picture ID.
        old_picture_id = new_picture_id = -1
        index = 2
        if flags & _I_BIT:
            high = payload[2]
            if high & _M_BIT:
                if size < 4:
                    return payload
                old_picture_id = (high & 0x7F) << 8 | payload[3]
                new_picture_id = (old_picture_id + self._frame_picture_id_offset) & PICTURE_ID_MASK_15_BIT
                index = 4
            else:
                old_picture_id = high
                new_picture_id = (high + self._frame_picture_id_offset) & PICTURE_ID_MASK_7_BIT
                index = 3
        old_tl0picidx = new_tl0picidx = -1
        if flags & _L_BIT:
            if size <= index:
                return payload
            old_tl0picidx = payload[index]
            new_tl0picidx = (old_tl0picidx + self._frame_tl0_offset) & TL0PICIDX_MASK
        if new_picture_id == old_picture_id and new_tl0picidx == old_tl0picidx:
            return payload
        out = bytearray(payload)
        if index == 4:
            out[2] = _M_BIT | new_picture_id >> 8
            out[3] = new_picture_id & 0xFF
        elif index == 3:
            out[2] = new_picture_id
        if new_tl0picidx >= 0:
            out[index] = new_tl0picidx
        return bytes(out)
