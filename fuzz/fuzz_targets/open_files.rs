//! Opening segment files with arbitrary contents, as a collection does at
//! startup: the vector files (`VectorFile::open` and the record checksums),
//! the segment manifest (`manifest::from_bytes`), the sealed graph file
//! (checked against the manifest, then `Graph::open_sealed`'s structure checks)
//! and a growing segment's graph checkpoint (`Graph::open_checkpoint`: a bad
//! one is ignored and the graph rebuilt; it must never be loaded half-checked).
//!
//! A real collection (dimension 4, 16 records a segment, 20 points: segment 1
//! sealed, segment 2 growing) is built once per process; each input replaces
//! one of its files, then the segment is opened. Input:
//! `[file, flags, content...]` where `file % 6` is
//! 0: seg 1 `vectors-0.bin`, 1: seg 1 `manifest.json`,
//! 2: seg 1 `graph-0.idx`, 3: the same with its header CRC recomputed,
//! 4: seg 2 (growing) `vectors-0.bin`, 5: seg 2 `graph-0.ckpt`,
//! and `flags` bit 0 recomputes the checksums the file or manifest carries
//! for the new content (header CRC, manifest CRC, the manifest's CRC and
//! length of a graph file, a checkpoint's trailing CRC) so the fuzzer gets
//! past them; bit 1 also
//! recomputes every vector record's CRC. Without the flags the input tests
//! what corruption on disk looks like: it must be detected.
//!
//! Seeds: run once with `CLIPDB_FUZZ_SEEDS=corpus/open_files` set, and the
//! fixture writes each real file as an input (flags 0 and 1) there.
#![no_main]

#[path = "common.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use clipdb::engine::fuzzing::open_segment;
use clipdb::engine::CollectionConfig;
use clipdb::storage::manifest;
use libfuzzer_sys::fuzz_target;

struct Fixture {
    _tmp: tempfile::TempDir,
    template: PathBuf,
    work: PathBuf,
    config: CollectionConfig,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        let (db, api) = common::open(&data);
        common::seed_collection(&db, &api, "c", 20);
        // Segment 2's graph checkpoint, as the server writes at shutdown.
        db.checkpoint_graphs(1).expect("checkpoint");
        let config = db.collection("c").unwrap().config().clone();
        drop(api);
        drop(db);
        let template = data.join("collections").join("c");
        for f in [
            "seg-000001/graph-0.idx",
            "seg-000001/manifest.json",
            "seg-000002/graph-0.ckpt",
        ] {
            assert!(template.join(f).exists(), "template lacks {f}");
        }
        let work = tmp.path().join("work");
        if let Some(dir) = std::env::var_os("CLIPDB_FUZZ_SEEDS") {
            write_seeds(Path::new(&dir), &template);
        }
        Fixture {
            _tmp: tmp,
            template,
            work,
            config,
        }
    })
}

const FILES: [(u8, &str); 6] = [
    (0, "seg-000001/vectors-0.bin"),
    (1, "seg-000001/manifest.json"),
    (2, "seg-000001/graph-0.idx"),
    (3, "seg-000001/graph-0.idx"),
    (4, "seg-000002/vectors-0.bin"),
    (5, "seg-000002/graph-0.ckpt"),
];

fn write_seeds(dir: &Path, template: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (which, file) in FILES {
        let content = std::fs::read(template.join(file)).unwrap();
        for flags in [0u8, 1] {
            let mut input = vec![which, flags];
            input.extend_from_slice(&content);
            std::fs::write(dir.join(format!("seed-{which}-{flags}")), input).unwrap();
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn fix_vectors(buf: &mut [u8], records: bool) {
    if buf.len() >= 64 {
        let crc = crc32fast::hash(&buf[..60]);
        buf[60..64].copy_from_slice(&crc.to_le_bytes());
    }
    if records {
        let dim = common::DIM as usize;
        let len = dim * 4 + 4;
        let mut off = 64;
        while off + len <= buf.len() {
            let crc = crc32fast::hash(&buf[off..off + dim * 4]);
            buf[off + dim * 4..off + len].copy_from_slice(&crc.to_le_bytes());
            off += len;
        }
    }
}

fn fix_manifest(buf: &[u8]) -> Vec<u8> {
    let body = match buf.iter().position(|&b| b == b'\n') {
        Some(nl) => &buf[nl + 1..],
        None => buf,
    };
    let mut out = format!("CLIPDB-MANIFEST 1 {:08x}\n", crc32fast::hash(body)).into_bytes();
    out.extend_from_slice(body);
    out
}

/// Records in the manifest the CRC and length of graph file `name` as written.
fn fix_graph_sum(seg: &Path, name: &str, content: &[u8]) {
    let path = seg.join("manifest.json");
    let mut m: serde_json::Value = manifest::read(&path).expect("template manifest");
    for f in m["graphs"][0]["files"].as_array_mut().unwrap() {
        if f["name"] == name {
            f["crc32"] = crc32fast::hash(content).into();
            f["len"] = (content.len() as u64).into();
        }
    }
    manifest::write(&path, &m).unwrap();
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let fx = fixture();
    let (which, flags) = (data[0] % 6, data[1]);
    let mut content = data[2..].to_vec();
    let (seg_id, sealed) = if which >= 4 { (2, false) } else { (1, true) };
    let seg_name = format!("seg-{seg_id:06}");
    let _ = std::fs::remove_dir_all(&fx.work);
    let seg = fx.work.join(&seg_name);
    copy_dir(&fx.template.join(&seg_name), &seg);
    let name = FILES[which as usize].1.rsplit('/').next().unwrap();
    if flags & 1 != 0 {
        match which {
            0 | 4 => fix_vectors(&mut content, flags & 2 != 0),
            1 => content = fix_manifest(&content),
            5 => {
                if content.len() >= 4 {
                    let end = content.len() - 4;
                    let crc = crc32fast::hash(&content[..end]);
                    content[end..].copy_from_slice(&crc.to_le_bytes());
                }
            }
            _ => {
                if which == 3 && content.len() >= 64 {
                    let crc = crc32fast::hash(&content[..60]);
                    content[60..64].copy_from_slice(&crc.to_le_bytes());
                }
                fix_graph_sum(&seg, name, &content)
            }
        }
    }
    std::fs::write(seg.join(name), &content).unwrap();
    let records: Vec<u32> = if sealed {
        (0..common::CAPACITY).collect()
    } else {
        (0..4).collect()
    };
    let _ = open_segment(&fx.work, &fx.config, seg_id, sealed, &records);
});
