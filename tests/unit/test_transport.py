"""The transport profiles' message work, without HTTP: SM4, SM2, HMAC-SM3, sealing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cashier.insurer import protocol
from cashier_sandbox.profiles import demo_counter_keys, demo_gateway_keys


def test_sm4_round_trip_and_a_wrong_key_is_an_unreadable_answer():
    key = "0123456789ABCDEFFEDCBA9876543210"
    cipher = protocol.sm4_encrypt(key, '{"sign_no":"42","名字":"张三"}')
    assert cipher == cipher.upper() and len(cipher) % 32 == 0
    assert protocol.sm4_decrypt(key, cipher) == '{"sign_no":"42","名字":"张三"}'
    with pytest.raises(protocol.ProtocolError):
        protocol.sm4_decrypt("00" * 16, cipher)
    with pytest.raises(protocol.ProtocolError):
        protocol.sm4_decrypt(key, "ABC")


def test_sm4_matches_the_standards_example():
    # GB/T 32907-2016, example 1: plain = key = 0123456789ABCDEFFEDCBA9876543210 (one block).
    from gmssl import sm4

    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    c = sm4.CryptSM4()
    c.set_key(key, sm4.SM4_ENCRYPT)
    assert c.crypt_ecb(key)[:16].hex() == "681edf34d206965e86b3e94f536e4246"


def test_a_sealed_message_opens_on_the_other_side_and_not_after_tampering():
    counter, gateway = demo_counter_keys(), demo_gateway_keys()
    message = {"infno": "1101", "msgid": "X" * 30, "input": {"data": {"certno": "110105"}}}
    sealed = protocol.seal_request(message, counter)
    assert protocol.open_request(sealed, gateway)["input"] == message["input"]
    tampered = {**sealed, "infno": "2207"}
    with pytest.raises(protocol.ProtocolError, match="SM2"):
        protocol.open_request(tampered, gateway)
    with pytest.raises(protocol.ProtocolError, match="SM2"):
        protocol.open_request({**sealed, "cainfo": ""}, gateway)


def test_sm2_signatures_use_fresh_nonces():
    keys = demo_counter_keys()
    one, two = protocol.sm2_sign(keys, "abc"), protocol.sm2_sign(keys, "abc")
    assert one != two
    assert protocol.sm2_verify(keys.public_key, one, "abc")
    assert not protocol.sm2_verify(keys.public_key, one, "abd")


def test_key_sizes_are_checked():
    with pytest.raises(protocol.ProtocolError, match="sm4_key"):
        replace(demo_counter_keys(), sm4_key="1234")


def test_xca_signature_covers_the_path_and_the_time():
    headers = protocol.xca_headers(
        "k", "s", path="/fsi/api/1101", now_ms=1_700_000_000_000, nonce="n1", content_type="a/b"
    )
    assert headers["x-ca-signature-method"] == "HmacSM3"
    ok = dict(headers)
    assert protocol.check_xca(ok, "k", "s", path="/fsi/api/1101", now_ms=1_700_000_000_500) is None
    assert "签名" in protocol.check_xca(
        ok, "k", "s", path="/fsi/api/2207", now_ms=1_700_000_000_500
    )
    assert "时间" in protocol.check_xca(
        ok, "k", "s", path="/fsi/api/1101", now_ms=1_700_001_000_000
    )
    assert "x-ca-key" in protocol.check_xca(
        ok, "other", "s", path="/fsi/api/1101", now_ms=1_700_000_000_000
    )


def test_hmac_sm3_is_openssls():
    # HMAC-SM3 of "abc" under key "k", computed with OpenSSL's command line:
    # printf abc | openssl dgst -sm3 -hmac k -binary | base64
    assert protocol.hmac_sm3("k", "abc") == "r2hNgXMugfapxd0Kpo8nZns23rzr4p4JSmVMPUlqiYo="
