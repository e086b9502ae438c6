//! Filter conversion (proto -> engine, with its depth and NaN checks) and
//! evaluation against arbitrary payloads.
//!
//! Input: `[mode, n_lo, n_hi, filter bytes (n), payload bytes (rest)]`. The
//! filter is a protobuf `clipdb.v1.Filter`; the payload is a protobuf
//! `google.protobuf.Struct` (mode bit 0 clear, as clients send it) or JSON
//! text (bit 0 set, as payloads are stored in the metadata).
#![no_main]

use clipdb::api::convert::{filter_from_proto, payload_from_proto, payload_to_proto};
use clipdb::engine::Payload;
use clipdb::proto;
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let mode = data[0];
    let n = u16::from_le_bytes([data[1], data[2]]) as usize;
    let rest = &data[3..];
    let (f, p) = rest.split_at(n.min(rest.len()));
    let Ok(filter) = proto::Filter::decode(f) else {
        return;
    };
    let Ok(Some(filter)) = filter_from_proto(Some(filter)) else {
        return;
    };
    let payload: Option<Payload> = if mode & 1 == 0 {
        let Ok(s) = prost_types::Struct::decode(p) else {
            return;
        };
        match payload_from_proto("payload", Some(s)) {
            Ok(p) => p,
            Err(_) => return,
        }
    } else {
        match serde_json::from_slice::<Payload>(p) {
            Ok(p) => Some(p),
            Err(_) => return,
        }
    };
    let m = filter.matches("id", payload.as_ref());
    // No payload matches nothing that requires a field.
    if payload.is_none() && !filter.must.is_empty() {
        assert!(!m);
    }
    if let Some(p) = &payload {
        // The proto round trip of a payload must not change what matches
        // (numbers are doubles both ways).
        let back = payload_to_proto(p);
        if let Ok(Some(p2)) = payload_from_proto("payload", Some(back)) {
            let _ = filter.matches("id", Some(&p2));
        }
        // Serialising for storage and reading back must succeed.
        let bytes = serde_json::to_vec(p).expect("payload encodes");
        let _: Payload = serde_json::from_slice(&bytes).expect("stored payload decodes");
    }
});
