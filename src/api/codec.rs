//! The protobuf codec of clipdb's services: tonic-prost's, except that a
//! message the decoder refuses is the sender's fault, so it gets
//! `INVALID_ARGUMENT` naming what to change instead of `INTERNAL`.
//!
//! The case users meet: prost refuses messages nested deeper than its fixed
//! recursion limit (100 messages), and every level of a payload costs three
//! (map entry, `Value`, `Struct`), so its refusal fires at about the 33rd
//! payload level, before `convert::MAX_PAYLOAD_DEPTH` is ever checked.
//! The message therefore names our documented limit. (Turning the decoder's
//! limit off would let a deeply nested message overflow the stack.)
//! Generated clients share this codec; for them a refused message is a
//! malformed response, which never happens between clipdb's own ends.

use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder};
use tonic::Status;
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

use super::convert::MAX_PAYLOAD_DEPTH;

#[derive(Debug, Clone, Default)]
pub struct ProtoCodec<T, U>(ProstCodec<T, U>);

impl<T, U> Codec for ProtoCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = ProtoDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        self.0.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProtoDecoder(self.0.decoder())
    }
}

#[derive(Debug, Clone)]
pub struct ProtoDecoder<U>(ProstDecoder<U>);

impl<U: Message + Default> Decoder for ProtoDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.0.decode(buf).map_err(|e| refused_message(e.message()))
    }

    fn buffer_settings(&self) -> tonic::codec::BufferSettings {
        self.0.buffer_settings()
    }
}

/// The status for a message prost's decoder refused with `reason`.
fn refused_message(reason: &str) -> Status {
    if reason.contains("recursion limit reached") {
        Status::invalid_argument(format!(
            "message nested too deeply: payload values may nest at most {MAX_PAYLOAD_DEPTH} levels"
        ))
    } else {
        Status::invalid_argument(format!("malformed protobuf message: {reason}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoder_refusals_are_invalid_argument_naming_the_cause() {
        let deep = refused_message(
            "failed to decode Protobuf message: Value.kind: Struct.fields: recursion limit reached",
        );
        assert_eq!(deep.code(), tonic::Code::InvalidArgument);
        assert!(
            deep.message().contains("at most 32 levels"),
            "{}",
            deep.message()
        );
        let garbage =
            refused_message("failed to decode Protobuf message: invalid wire type value: 7");
        assert_eq!(garbage.code(), tonic::Code::InvalidArgument);
        assert!(
            garbage.message().contains("invalid wire type"),
            "{}",
            garbage.message()
        );
    }
}
