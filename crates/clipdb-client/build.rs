//! Compiles the clipdb.v1 client from the repository's proto with protox (a
//! pure-Rust protobuf compiler): no system `protoc`. Client code only.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = "../../proto";
    println!("cargo:rerun-if-changed={root}/clipdb");
    let descriptors = protox::compile(["clipdb/v1/clipdb.proto"], [root])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(false)
        .compile_fds(descriptors)?;
    Ok(())
}
