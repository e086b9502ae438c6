//! Compiles the gRPC API from `proto/` with protox (a pure-Rust protobuf
//! compiler), so building needs no system `protoc`.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["proto/clipdb/v1/clipdb.proto"];
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(protos, ["proto"])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    // Served by gRPC reflection, so grpcurl and SDK generators need no copy of our files.
    std::fs::write(
        out_dir.join("clipdb_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        // tonic-prost's codec, but refused messages are INVALID_ARGUMENT
        .codec_path("crate::api::codec::ProtoCodec")
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
