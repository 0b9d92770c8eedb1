"""The VP8 payload descriptor: parsing, keyframes, and one subscriber's continuous numbering."""

from __future__ import annotations

import itertools

import pytest

from sessions_app.sfu.vp8 import (
    Vp8FrameInfo,
    Vp8Rewriter,
    descriptor_length,
    is_keyframe_payload,
    parse_frame_info,
    starts_frame,
)

BODY = b"\xaa\xbb\xcc\xdd"
KEY_HEADER = b"\x10"  # VP8 payload header: low bit 0, a keyframe
DELTA_HEADER = b"\x11"  # low bit 1, an interframe


def descriptor(
    *,
    picture_id: int | None = None,
    long_picture_id: bool = True,
    tl0picidx: int | None = None,
    tid: int | None = None,
    layer_sync: bool = False,
    keyidx: int | None = None,
    start: bool = True,
    partition: int = 0,
) -> bytes:
    """An RFC 7741 payload descriptor with exactly the fields asked for."""
    extended = picture_id is not None or tl0picidx is not None or tid is not None or keyidx is not None
    out = bytearray([(0x80 if extended else 0) | (0x10 if start else 0) | partition])
    if not extended:
        return bytes(out)
    out.append(
        (0x80 if picture_id is not None else 0)
        | (0x40 if tl0picidx is not None else 0)
        | (0x20 if tid is not None else 0)
        | (0x10 if keyidx is not None else 0)
    )
    if picture_id is not None:
        out += bytes([0x80 | picture_id >> 8, picture_id & 0xFF]) if long_picture_id else bytes([picture_id])
    if tl0picidx is not None:
        out.append(tl0picidx)
    if tid is not None or keyidx is not None:
        out.append((tid or 0) << 6 | (0x20 if layer_sync else 0) | (keyidx or 0))
    return bytes(out)


def packet(*, keyframe: bool = False, body: bytes = BODY, **fields: object) -> bytes:
    """A whole RTP payload: descriptor, then (on a frame's first packet) the VP8 header, then ``body``."""
    head = descriptor(**fields)  # type: ignore[arg-type]
    starts = fields.get("start", True) and not fields.get("partition", 0)
    return head + ((KEY_HEADER if keyframe else DELTA_HEADER) if starts else b"") + body


class Layer:
    """One simulcast layer as a publisher sends it: its own picture IDs and TL0PICIDX, L1T3."""

    def __init__(self, picture_id: int, tl0picidx: int, long_picture_id: bool = True) -> None:
        self.picture_id = picture_id
        self.tl0picidx = tl0picidx
        self.long_picture_id = long_picture_id

    def frame(self, tid: int = 0, keyframe: bool = False, packets: int = 1) -> list[bytes]:
        """The next frame's packets; a base-layer frame opens a new TL0PICIDX, as encoders do."""
        if tid == 0:
            self.tl0picidx = (self.tl0picidx + 1) & 0xFF
        self.picture_id = (self.picture_id + 1) & (0x7FFF if self.long_picture_id else 0x7F)
        return [
            packet(
                keyframe=keyframe,
                body=bytes([index]) + BODY,
                picture_id=self.picture_id,
                long_picture_id=self.long_picture_id,
                tl0picidx=self.tl0picidx,
                tid=tid,
                layer_sync=tid > 0,
                start=index == 0,
            )
            for index in range(packets)
        ]


def info_of(packets: list[bytes]) -> Vp8FrameInfo:
    info = parse_frame_info(packets[0])
    assert info is not None
    return info


def send(rewriter: Vp8Rewriter, packets: list[bytes], switched: bool = False) -> list[bytes]:
    """Forward a frame the way the SFU does: number it, then rewrite each of its packets."""
    rewriter.forward(info_of(packets), switched)
    return [rewriter.rewrite(payload) for payload in packets]


def numbers(payload: bytes) -> tuple[int | None, int | None]:
    info = parse_frame_info(payload)
    assert info is not None
    return info.picture_id, info.tl0picidx


# Parsing


@pytest.mark.parametrize(
    ("picture_id", "long_picture_id", "tl0picidx", "tid", "keyidx"),
    [
        (picture_id, long_picture_id, tl0picidx, tid, keyidx)
        for (picture_id, long_picture_id), tl0picidx, tid, keyidx in itertools.product(
            [(None, False), (0x55, False), (0x1234, True), (0x7FFF, True), (0x7F, False)],
            [None, 0, 0xAB],
            [None, 0, 2],
            [None, 17],
        )
    ],
)
def test_parse_every_field_combination(
    picture_id: int | None, long_picture_id: bool, tl0picidx: int | None, tid: int | None, keyidx: int | None
) -> None:
    """Each optional field is read from where the flags before it put it."""
    for keyframe in (False, True):
        payload = packet(
            keyframe=keyframe,
            picture_id=picture_id,
            long_picture_id=long_picture_id,
            tl0picidx=tl0picidx,
            tid=tid,
            layer_sync=tid == 2,
            keyidx=keyidx,
        )
        info = parse_frame_info(payload)
        assert info is not None
        assert info.picture_id == picture_id
        assert info.long_picture_id is long_picture_id
        assert info.tl0picidx == tl0picidx
        assert info.tid == (tid or 0)
        assert info.layer_sync is (tid == 2)
        assert info.is_keyframe is keyframe
        head = descriptor(
            picture_id=picture_id, long_picture_id=long_picture_id, tl0picidx=tl0picidx, tid=tid, keyidx=keyidx
        )
        assert descriptor_length(payload) == len(head)


def test_parse_minimal_descriptor() -> None:
    """A one-byte descriptor: no picture ID, no TL0PICIDX, the base layer."""
    info = parse_frame_info(b"\x10" + KEY_HEADER + BODY)
    assert info is not None
    assert (info.picture_id, info.long_picture_id, info.tl0picidx) == (None, False, None)
    assert (info.tid, info.layer_sync, info.is_keyframe) == (0, False, True)


def test_parse_keyidx_without_t_bit_ignores_tid_and_y() -> None:
    """With K but not T, the TID and Y bits of the shared byte mean nothing (RFC 7741)."""
    payload = bytes([0x90, 0x10, 0xE0 | 5]) + DELTA_HEADER
    info = parse_frame_info(payload)
    assert info is not None
    assert (info.tid, info.layer_sync) == (0, False)
    assert descriptor_length(payload) == 3


def test_parse_tid_3_and_y_without_keyidx() -> None:
    info = parse_frame_info(packet(tid=3, layer_sync=True))
    assert info is not None
    assert (info.tid, info.layer_sync) == (3, True)


def test_parse_continuation_packet_is_not_a_keyframe() -> None:
    """A packet that does not open the frame has no VP8 header to read: never a keyframe."""
    info = parse_frame_info(packet(picture_id=300, tl0picidx=4, start=False, body=b"\x00\x00"))
    assert info is not None
    assert (info.picture_id, info.tl0picidx, info.is_keyframe) == (300, 4, False)


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\x10",  # descriptor only, no VP8 data
        b"\x90",  # X set, extension byte missing
        b"\x90\x80",  # I set, picture ID missing
        b"\x90\x80\x81",  # 15-bit picture ID cut after its first byte
        b"\x90\x80\x81\x02",  # complete descriptor, no VP8 data
        b"\x90\x40",  # L set, TL0PICIDX missing
        b"\x90\xe0\x81\x02\x07",  # T set, TID byte missing
        b"\x90\x10\x05",  # K set, no VP8 data after the KEYIDX byte
    ],
)
def test_parse_truncated_payload_is_none(payload: bytes) -> None:
    assert parse_frame_info(payload) is None
    assert descriptor_length(payload) == -1
    assert is_keyframe_payload(payload) is False


# Frame starts and keyframes


def test_starts_frame() -> None:
    """S set and partition 0 open a frame; anything else continues one."""
    assert starts_frame(packet(picture_id=1)) is True
    assert starts_frame(packet(start=False)) is False
    assert starts_frame(packet(start=True, partition=1)) is False
    assert starts_frame(packet(start=False, partition=2)) is False
    assert starts_frame(b"") is False
    assert starts_frame(bytes([0x10 | 0x20 | 0x08]) + BODY) is True  # N and a reserved bit do not matter


def test_is_keyframe_payload_reads_past_the_descriptor() -> None:
    """The keyframe bit is in the VP8 header after descriptors of every length."""
    for fields in (
        {},
        {"picture_id": 5, "long_picture_id": False},
        {"picture_id": 5000, "tl0picidx": 9, "tid": 0, "keyidx": 3},
    ):
        assert is_keyframe_payload(packet(keyframe=True, **fields)) is True
        assert is_keyframe_payload(packet(keyframe=False, **fields)) is False


def test_is_keyframe_payload_only_on_a_frames_first_packet() -> None:
    """A later packet whose first data byte happens to be even is no keyframe."""
    assert is_keyframe_payload(packet(picture_id=7, start=False, body=b"\x00")) is False
    assert is_keyframe_payload(packet(picture_id=7, start=True, partition=1, body=b"\x00")) is False


def test_descriptor_byte_with_low_bit_clear_is_not_mistaken_for_the_vp8_header() -> None:
    """A TL0PICIDX of 0 is even, but the keyframe bit is read from the byte after the descriptor."""
    payload = packet(keyframe=False, picture_id=1, long_picture_id=False, tl0picidx=0)
    assert is_keyframe_payload(payload) is False


# Rewriting: identity


def test_unchanged_stream_returns_the_same_objects() -> None:
    """With no switch or drop, every packet is the one that came in, not a copy."""
    rewriter = Vp8Rewriter()
    layer = Layer(picture_id=1000, tl0picidx=50)
    first = layer.frame(keyframe=True, packets=3)
    assert all(out is payload for out, payload in zip(send(rewriter, first, switched=True), first, strict=True))
    for tid in (2, 1, 2, 0, 2, 1, 2):
        frame = layer.frame(tid, packets=2)
        outputs = send(rewriter, frame)
        assert all(out is payload for out, payload in zip(outputs, frame, strict=True))
    assert (rewriter.last_picture_id, rewriter.last_tl0picidx) == (1008, 52)


def test_first_frame_keeps_its_own_numbers_switched_or_not() -> None:
    for switched in (False, True):
        rewriter = Vp8Rewriter()
        frame = Layer(picture_id=20000, tl0picidx=200).frame(keyframe=True)
        assert send(rewriter, frame, switched=switched)[0] is frame[0]
        assert (rewriter.last_picture_id, rewriter.last_tl0picidx) == (20001, 201)


def test_drops_before_the_first_frame_do_not_offset_it() -> None:
    """A subscriber waiting for its first keyframe has been sent nothing: it has no gap to close."""
    rewriter = Vp8Rewriter()
    layer = Layer(picture_id=10, tl0picidx=1)
    for tid in (0, 2, 1):
        rewriter.drop(info_of(layer.frame(tid)))
    frame = layer.frame(keyframe=True)
    assert send(rewriter, frame, switched=True)[0] is frame[0]
    assert numbers(frame[0]) == (14, 3)


def test_frames_without_numbers_pass_through() -> None:
    """Descriptors with no picture ID nor TL0PICIDX are returned as they are, even with offsets set."""
    rewriter = Vp8Rewriter()
    layer = Layer(picture_id=100, tl0picidx=5)
    send(rewriter, layer.frame(keyframe=True), switched=True)
    rewriter.drop(info_of(layer.frame(2)))
    numbered = send(rewriter, layer.frame(1))
    assert numbers(numbered[0]) == (102, 6)
    for bare in (packet(), packet(tid=1), packet(keyidx=3), packet(start=False)):
        rewriter.forward(info_of([bare]), switched=False)
        assert rewriter.rewrite(bare) is bare
    assert (rewriter.last_picture_id, rewriter.last_tl0picidx) == (102, 6)


def test_numbers_equal_to_input_return_the_same_object_despite_an_offset() -> None:
    """128 dropped frames of a 7-bit stream make an offset of -128: a 7-bit output equal to its input."""
    rewriter = Vp8Rewriter()
    layer = Layer(picture_id=3, tl0picidx=0, long_picture_id=False)
    send(rewriter, layer.frame(keyframe=True), switched=True)
    for _ in range(128):
        rewriter.drop(info_of(layer.frame(2)))
    frame = layer.frame(0)
    assert send(rewriter, frame)[0] is frame[0]
    assert numbers(frame[0]) == (5, 2)


# Rewriting: layer switches


def test_switch_to_another_layer_and_back_stays_continuous() -> None:
    """Each layer keeps its own numbering; the subscriber sees one, across both switches."""
    rewriter = Vp8Rewriter()
    low = Layer(picture_id=999, tl0picidx=9)
    high = Layer(picture_id=20004, tl0picidx=204)

    assert [numbers(send(rewriter, low.frame(keyframe=True), switched=True)[0])] == [(1000, 10)]
    assert numbers(send(rewriter, low.frame(1))[0]) == (1001, 10)
    assert numbers(send(rewriter, low.frame(0))[0]) == (1002, 11)

    keyframe = high.frame(keyframe=True)
    assert numbers(keyframe[0]) == (20005, 205)
    assert numbers(send(rewriter, keyframe, switched=True)[0]) == (1003, 12)
    assert numbers(send(rewriter, high.frame(1))[0]) == (1004, 12)
    assert numbers(send(rewriter, high.frame(0))[0]) == (1005, 13)

    # The low layer went on meanwhile, unforwarded: 1003..1009, TL0PICIDX 12..18.
    for _ in range(7):
        low.frame(0)
    back = send(rewriter, low.frame(keyframe=True), switched=True)
    assert numbers(back[0]) == (1006, 14)
    assert numbers(send(rewriter, low.frame(2))[0]) == (1007, 14)
    assert numbers(send(rewriter, low.frame(0))[0]) == (1008, 15)
    assert (low.picture_id, low.tl0picidx) == (1012, 20)


def test_switch_to_a_new_ssrc_of_the_same_layer() -> None:
    """A publisher's restarted encoder numbers from anywhere: the subscriber's numbers go on."""
    rewriter = Vp8Rewriter()
    before = Layer(picture_id=5000, tl0picidx=77)
    send(rewriter, before.frame(keyframe=True), switched=True)
    send(rewriter, before.frame(0))
    after = Layer(picture_id=5, tl0picidx=0)
    assert numbers(send(rewriter, after.frame(keyframe=True), switched=True)[0]) == (5003, 80)
    assert numbers(send(rewriter, after.frame(2))[0]) == (5004, 80)


def test_offsets_after_several_switches_and_drops() -> None:
    """Drops and switches compound: every forwarded frame is one picture after the last."""
    rewriter = Vp8Rewriter()
    layers = [Layer(picture_id=100, tl0picidx=0), Layer(picture_id=3000, tl0picidx=100), Layer(30000, 250)]
    sent: list[tuple[int | None, int | None]] = []
    tids = (0, 2, 1, 2)
    for round_index, target_tid in enumerate((2, 1, 0, 1, 2, 0)):
        layer = layers[round_index % 3]
        for other in layers:
            if other is not layer:
                other.frame(0)
        sent.append(numbers(send(rewriter, layer.frame(keyframe=True), switched=True)[0]))
        for tid in tids[1:] * 3 + (0,):
            frame = layer.frame(tid)
            if tid > target_tid:
                rewriter.drop(info_of(frame))
            else:
                sent.append(numbers(send(rewriter, frame)[0]))
    picture_ids = [picture_id for picture_id, _ in sent]
    assert picture_ids == list(range(101, 101 + len(sent)))
    # Per round, the keyframe and then all 10, 4 or 1 of the frames at or below its target.
    assert len(sent) == 11 + 5 + 2 + 5 + 11 + 2
    # TL0PICIDX: +1 on each switch (a keyframe) and each base-layer frame, unchanged otherwise.
    tl0picidxs = [tl0 for _, tl0 in sent]
    assert tl0picidxs[0] == 1
    assert all(b - a in (0, 1) for a, b in itertools.pairwise(tl0picidxs))
    assert tl0picidxs[-1] == 1 + 5 + 6  # the first keyframe's own, five switches, one base frame a round


# Rewriting: temporal layers


def test_dropping_tid_2_of_l1t3_keeps_picture_ids_consecutive() -> None:
    """TID 0,2,1,2,0,... with TID 2 held back: picture IDs one apart, TL0PICIDX as the publisher sent it."""
    rewriter = Vp8Rewriter()
    layer = Layer(picture_id=499, tl0picidx=29)
    outputs = [numbers(send(rewriter, layer.frame(keyframe=True), switched=True)[0])]
    for tid in (2, 1, 2, 0, 2, 1, 2, 0, 2, 1):
        frame = layer.frame(tid)
        if tid == 2:
            rewriter.drop(info_of(frame))
        else:
            outputs.append(numbers(send(rewriter, frame)[0]))
    assert outputs == [(500, 30), (501, 30), (502, 31), (503, 31), (504, 32), (505, 32)]


def test_dropping_tid_1_and_2_keeps_both_numbers_consecutive() -> None:
    rewriter = Vp8Rewriter()
    layer = Layer(picture_id=0, tl0picidx=0)
    outputs = [numbers(send(rewriter, layer.frame(keyframe=True), switched=True)[0])]
    for tid in (2, 1, 2, 0, 2, 1, 2, 0, 2, 1, 2, 0):
        frame = layer.frame(tid)
        if tid > 0:
            rewriter.drop(info_of(frame))
        else:
            outputs.append(numbers(send(rewriter, frame)[0]))
    assert outputs == [(1, 1), (2, 2), (3, 3), (4, 4)]


def test_dropping_a_base_layer_frame_does_not_break_the_numbering() -> None:
    """Should a TID 0 frame be held back, the next one takes its picture ID and TL0PICIDX."""
    rewriter = Vp8Rewriter()
    layer = Layer(picture_id=10, tl0picidx=10)
    send(rewriter, layer.frame(keyframe=True), switched=True)
    rewriter.drop(info_of(layer.frame(0)))
    assert numbers(send(rewriter, layer.frame(1))[0]) == (12, 11)  # refers to the base frame held back
    assert numbers(send(rewriter, layer.frame(0))[0]) == (13, 12)


def test_a_drop_decided_before_a_frames_packets_go_out_does_not_renumber_them() -> None:
    rewriter = Vp8Rewriter()
    layer = Layer(picture_id=10, tl0picidx=10)
    send(rewriter, layer.frame(keyframe=True), switched=True)
    rewriter.drop(info_of(layer.frame(2)))
    frame = layer.frame(1, packets=3)
    rewriter.forward(info_of(frame), switched=False)
    first = rewriter.rewrite(frame[0])
    rewriter.drop(info_of(layer.frame(2)))
    rest = [rewriter.rewrite(payload) for payload in frame[1:]]
    assert [numbers(out) for out in [first, *rest]] == [(12, 11)] * 3
    assert numbers(send(rewriter, layer.frame(0))[0]) == (13, 12)


# Rewriting: wrap-around and widths


def test_15_bit_picture_id_and_tl0picidx_wrap() -> None:
    rewriter = Vp8Rewriter()
    low = Layer(picture_id=0x7FFB, tl0picidx=0xFC)
    send(rewriter, low.frame(keyframe=True), switched=True)  # 0x7FFC, 0xFD
    high = Layer(picture_id=40, tl0picidx=7)
    outputs = [numbers(send(rewriter, high.frame(keyframe=True), switched=True)[0])]
    for _ in range(4):
        outputs.append(numbers(send(rewriter, high.frame(0))[0]))
    assert outputs == [(0x7FFD, 0xFE), (0x7FFE, 0xFF), (0x7FFF, 0x00), (0x0000, 0x01), (0x0001, 0x02)]


def test_input_wrap_with_an_offset() -> None:
    """The input wraps under a non-zero offset: the output keeps counting, modulo 2**15 and 256."""
    rewriter = Vp8Rewriter()
    send(rewriter, Layer(picture_id=99, tl0picidx=99).frame(keyframe=True), switched=True)  # 100, 100
    layer = Layer(picture_id=0x7FFD, tl0picidx=0xFE)
    outputs = [numbers(send(rewriter, layer.frame(keyframe=True), switched=True)[0])]  # in 0x7FFE, 0xFF
    for _ in range(3):
        outputs.append(numbers(send(rewriter, layer.frame(0))[0]))
    assert outputs == [(101, 101), (102, 102), (103, 103), (104, 104)]
    assert (layer.picture_id, layer.tl0picidx) == (1, 2)


def test_7_bit_picture_ids_wrap_at_128_and_stay_one_byte() -> None:
    rewriter = Vp8Rewriter()
    layer = Layer(picture_id=124, tl0picidx=0, long_picture_id=False)
    send(rewriter, layer.frame(keyframe=True), switched=True)  # 125
    outputs: list[bytes] = []
    for tid in (2, 1, 2, 0, 2, 1, 2, 0, 2, 1, 2, 0):
        frame = layer.frame(tid)
        if tid == 2:
            rewriter.drop(info_of(frame))
        else:
            outputs.extend(send(rewriter, frame))
    assert [numbers(out)[0] for out in outputs] == [126, 127, 0, 1, 2, 3]
    assert (rewriter.last_picture_id, rewriter.last_tl0picidx) == (3, 4)
    for out in outputs:
        info = parse_frame_info(out)
        assert info is not None
        assert info.long_picture_id is False
        assert out[2] & 0x80 == 0
        assert descriptor_length(out) == 5


def test_switch_from_7_bit_layer_follows_modulo_its_width() -> None:
    """A 7-bit source after a 15-bit one continues from the last ID sent, modulo 128."""
    rewriter = Vp8Rewriter()
    send(rewriter, Layer(picture_id=300, tl0picidx=1).frame(keyframe=True), switched=True)  # 301
    short = Layer(picture_id=5, tl0picidx=1, long_picture_id=False)
    out = send(rewriter, short.frame(keyframe=True), switched=True)
    assert numbers(out[0])[0] == 302 % 128
    assert numbers(send(rewriter, short.frame(0))[0])[0] == 303 % 128


# Rewriting: what else the packet holds


def test_only_picture_id_and_tl0picidx_change() -> None:
    """Every other descriptor bit and every byte after the descriptor come through untouched."""
    rewriter = Vp8Rewriter()
    send(rewriter, Layer(picture_id=10, tl0picidx=10).frame(keyframe=True), switched=True)
    body = bytes(range(256)) * 4
    payload = packet(keyframe=False, body=body, picture_id=900, tl0picidx=77, tid=1, layer_sync=True, keyidx=9)
    payload = bytes([payload[0] | 0x20]) + payload[1:]  # N, the non-reference bit
    rewriter.forward(info_of([payload]), switched=True)
    out = rewriter.rewrite(payload)
    assert out is not payload
    assert isinstance(out, bytes)
    assert len(out) == len(payload)
    assert out[:2] == payload[:2]
    assert out[2:5] == bytes([0x80, 12, 11])
    assert out[5:] == payload[5:]
    assert payload[2:5] == bytes([0x83, 0x84, 77])  # the input is not modified in place


def test_every_packet_of_a_multi_packet_frame_is_rewritten() -> None:
    rewriter = Vp8Rewriter()
    send(rewriter, Layer(picture_id=10, tl0picidx=10).frame(keyframe=True), switched=True)
    layer = Layer(picture_id=7000, tl0picidx=70)
    frame = layer.frame(keyframe=True, packets=4)
    outputs = send(rewriter, frame, switched=True)
    assert [numbers(out) for out in outputs] == [(12, 12)] * 4
    for index, (out, payload) in enumerate(zip(outputs, frame, strict=True)):
        length = descriptor_length(payload)
        assert out[0] == payload[0]
        assert out[length:] == payload[length:]
        assert starts_frame(out) is (index == 0)
    assert is_keyframe_payload(outputs[0]) is True


def test_packets_with_only_a_picture_id_or_only_a_tl0picidx() -> None:
    rewriter = Vp8Rewriter()
    send(rewriter, [packet(keyframe=True, picture_id=100, tl0picidx=100)], switched=True)
    send(rewriter, [packet(keyframe=True, picture_id=5, tl0picidx=5)], switched=True)  # offsets +96
    only_picture_id = packet(picture_id=6, long_picture_id=False)
    only_tl0picidx = packet(tl0picidx=6)
    assert numbers(rewriter.rewrite(only_picture_id)) == (102, None)
    assert numbers(rewriter.rewrite(only_tl0picidx)) == (None, 102)
