//! `clipdb import coco` and `clipdb import folder`: stream a captioned image
//! set into a CLIP collection over gRPC.
//!
//! Each image becomes one point holding the image (embedded by the server)
//! and a caption vector: the normalised mean of its captions' embeddings
//! (COCO has about five per image), so search fuses both at query time.
//! Batches run with several requests in flight; ids already stored are
//! skipped (an interrupted import resumes where it stopped); an unreadable or
//! undecodable image is reported by name and skipped.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;
use tokio::task::JoinSet;
use tonic::Code;

use super::{is_image_file, ClientError, Clients};
use clipdb::api::convert::payload_to_proto;
use clipdb_client::proto;

/// One image to import.
#[derive(Debug, Clone)]
pub struct ImportItem {
    pub id: String,
    pub path: PathBuf,
    pub captions: Vec<String>,
    /// Stored as the point's payload.
    pub payload: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub collection: String,
    /// Images per upsert request.
    pub batch_size: usize,
    /// Requests in flight at once.
    pub in_flight: usize,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// Shards and replicas per shard of a collection the import creates.
    pub shards: u32,
    pub replication_factor: u32,
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportSummary {
    pub total: u64,
    pub imported: u64,
    /// Skipped because their id was already stored (resumed import).
    pub already_present: u64,
    /// Skipped images: (file name, reason).
    pub failed: Vec<(String, String)>,
    pub elapsed: Duration,
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        writeln!(
            f,
            "imported {} of {} images in {:.1} s ({:.1} images/s); {} already present; {} skipped",
            self.imported,
            self.total,
            secs,
            self.imported as f64 / secs,
            self.already_present,
            self.failed.len()
        )?;
        for (name, reason) in &self.failed {
            writeln!(f, "  skipped {name}: {reason}")?;
        }
        Ok(())
    }
}

// --- COCO captions format ---------------------------------------------------

#[derive(Debug, Deserialize)]
struct CocoFile {
    images: Vec<CocoImage>,
    #[serde(default)]
    annotations: Vec<CocoAnnotation>,
}

#[derive(Debug, Deserialize)]
struct CocoImage {
    id: u64,
    file_name: String,
    #[serde(default)]
    width: Option<u64>,
    #[serde(default)]
    height: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct CocoAnnotation {
    image_id: u64,
    caption: String,
}

/// Reads a COCO captions file (`captions_train2017.json` layout) into items:
/// id = the COCO image id, payload `{file_name, coco_id, captions, width,
/// height, path}`.
pub fn coco_items(annotations: &Path, images_dir: &Path) -> Result<Vec<ImportItem>, ClientError> {
    let raw = std::fs::read(annotations).map_err(|e| ClientError::file(annotations, e))?;
    let coco: CocoFile = serde_json::from_slice(&raw)
        .map_err(|e| ClientError::file(annotations, format!("not a COCO captions file: {e}")))?;
    let mut captions: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for a in coco.annotations {
        captions
            .entry(a.image_id)
            .or_default()
            .push(a.caption.trim().to_string());
    }
    Ok(coco
        .images
        .into_iter()
        .map(|img| {
            let caps = captions.remove(&img.id).unwrap_or_default();
            let mut payload = serde_json::Map::new();
            payload.insert("file_name".into(), json!(img.file_name));
            payload.insert("coco_id".into(), json!(img.id));
            payload.insert("captions".into(), json!(caps));
            if let (Some(w), Some(h)) = (img.width, img.height) {
                payload.insert("width".into(), json!(w));
                payload.insert("height".into(), json!(h));
            }
            let path = images_dir.join(&img.file_name);
            payload.insert("path".into(), json!(absolute(&path)));
            ImportItem {
                id: img.id.to_string(),
                path,
                captions: caps,
                payload,
            }
        })
        .collect())
}

/// Every image under `dir` (recursively, sorted), with the caption in a
/// same-name `.txt` file beside it when there is one. id = the path relative
/// to `dir`; payload `{file_name, captions, path}`.
pub fn folder_items(dir: &Path) -> Result<Vec<ImportItem>, ClientError> {
    let mut files = Vec::new();
    collect_images(dir, &mut files)?;
    files.sort();
    Ok(files
        .into_iter()
        .map(|path| {
            let rel = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let captions: Vec<String> = std::fs::read_to_string(path.with_extension("txt"))
                .ok()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .into_iter()
                .collect();
            let mut payload = serde_json::Map::new();
            payload.insert("file_name".into(), json!(rel));
            payload.insert("captions".into(), json!(captions));
            payload.insert("path".into(), json!(absolute(&path)));
            ImportItem {
                id: rel,
                path,
                captions,
                payload,
            }
        })
        .collect())
}

/// The absolute form of a path, for the `path` payload field that lets
/// `clipdb search --gallery` find the image on this machine.
fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

fn collect_images(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ClientError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ClientError::file(dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| ClientError::file(dir, e))?.path();
        if path.is_dir() {
            collect_images(&path, out)?;
        } else if is_image_file(&path) {
            out.push(path);
        }
    }
    Ok(())
}

// --- the import itself ------------------------------------------------------

/// Creates the collection (VECTORIZER_CLIP) unless it exists.
pub async fn ensure_collection(
    clients: &mut Clients,
    name: &str,
    shards: u32,
    replication_factor: u32,
) -> Result<(), ClientError> {
    let get = clients
        .collections
        .get_collection(proto::GetCollectionRequest { name: name.into() })
        .await;
    match get {
        Ok(info) if info.get_ref().vectorizer != proto::Vectorizer::Clip as i32 => {
            Err(ClientError::Usage(format!(
                "collection `{name}` exists but was not created with VECTORIZER_CLIP"
            )))
        }
        Ok(_) => Ok(()),
        Err(s) if s.code() == Code::NotFound => {
            let created = clients
                .collections
                .create_collection(proto::CreateCollectionRequest {
                    name: name.into(),
                    vectorizer: proto::Vectorizer::Clip as i32,
                    shards,
                    replication_factor,
                    ..Default::default()
                })
                .await;
            match created {
                Ok(_) => Ok(()),
                // Another importer created it meanwhile.
                Err(s) if s.code() == Code::AlreadyExists => Ok(()),
                Err(s) => Err(ClientError::rpc(format!("create collection `{name}`"), s)),
            }
        }
        Err(s) => Err(ClientError::rpc(format!("get collection `{name}`"), s)),
    }
}

#[derive(Default)]
struct BatchOutcome {
    imported: u64,
    already_present: u64,
    failed: Vec<(String, String)>,
}

/// Imports `items` into the collection (created if missing).
pub async fn import(
    clients: &Clients,
    items: Vec<ImportItem>,
    options: &ImportOptions,
) -> Result<ImportSummary, ClientError> {
    let start = Instant::now();
    let mut clients = clients.clone();
    ensure_collection(
        &mut clients,
        &options.collection,
        options.shards,
        options.replication_factor,
    )
    .await?;
    let total = items.len() as u64;
    let bar = if options.progress {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} images  {per_sec}  ETA {eta}  {msg}",
            )
            .expect("progress template")
            .progress_chars("=> "),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut summary = ImportSummary {
        total,
        ..Default::default()
    };
    let mut running: JoinSet<Result<BatchOutcome, ClientError>> = JoinSet::new();
    let batch_size = options.batch_size.max(1);
    let mut batches = items.chunks(batch_size).map(<[ImportItem]>::to_vec);
    loop {
        while running.len() < options.in_flight.max(1) {
            let Some(batch) = batches.next() else { break };
            let clients = clients.clone();
            let collection = options.collection.clone();
            running.spawn(async move { import_batch(clients, &collection, batch).await });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let outcome =
            done.map_err(|e| ClientError::Usage(format!("import task failed: {e}")))??;
        bar.inc(outcome.imported + outcome.already_present + outcome.failed.len() as u64);
        for (name, reason) in &outcome.failed {
            bar.println(format!("skipped {name}: {reason}"));
        }
        summary.imported += outcome.imported;
        summary.already_present += outcome.already_present;
        summary.failed.extend(outcome.failed);
        if !summary.failed.is_empty() {
            bar.set_message(format!("{} skipped", summary.failed.len()));
        }
    }
    bar.finish_and_clear();
    summary.elapsed = start.elapsed();
    Ok(summary)
}

async fn import_batch(
    mut clients: Clients,
    collection: &str,
    batch: Vec<ImportItem>,
) -> Result<BatchOutcome, ClientError> {
    let mut outcome = BatchOutcome::default();
    // Resume: leave out ids the collection already has.
    let present: HashSet<String> = clients
        .points
        .get(proto::GetRequest {
            collection: collection.into(),
            ids: batch.iter().map(|i| i.id.clone()).collect(),
            with_vector: false,
        })
        .await
        .map_err(|s| ClientError::rpc("get", s))?
        .into_inner()
        .points
        .into_iter()
        .map(|p| p.id)
        .collect();
    let mut todo = Vec::new();
    for item in batch {
        if present.contains(&item.id) {
            outcome.already_present += 1;
            continue;
        }
        match tokio::fs::read(&item.path).await {
            Ok(bytes) => todo.push((item, bytes)),
            Err(e) => outcome.failed.push((file_label(&item), e.to_string())),
        }
    }
    if todo.is_empty() {
        return Ok(outcome);
    }
    let caption_vectors = mean_caption_vectors(&mut clients, &todo).await?;
    let mut points: Vec<(String, proto::Point)> = todo
        .into_iter()
        .zip(caption_vectors)
        .map(|((item, image), text_vector)| {
            let label = file_label(&item);
            let point = proto::Point {
                id: item.id,
                image,
                text_vector: text_vector.unwrap_or_default(),
                payload: Some(payload_to_proto(&item.payload)),
                ..Default::default()
            };
            (label, point)
        })
        .collect();
    // A bad image fails the whole request naming its point: drop it, retry the rest.
    while !points.is_empty() {
        let request = proto::UpsertRequest {
            collection: collection.into(),
            points: points.iter().map(|(_, p)| p.clone()).collect(),
        };
        match clients.points.upsert(request).await {
            Ok(r) => {
                outcome.imported += r.into_inner().upserted;
                break;
            }
            Err(s) if s.code() == Code::InvalidArgument => {
                let culprit = points
                    .iter()
                    .position(|(_, p)| s.message().contains(&format!("point `{}`", p.id)));
                match culprit {
                    Some(i) => {
                        let (label, _) = points.remove(i);
                        outcome.failed.push((label, s.message().to_string()));
                    }
                    None => return Err(ClientError::rpc("upsert", s)),
                }
            }
            Err(s) => return Err(ClientError::rpc("upsert", s)),
        }
    }
    Ok(outcome)
}

fn file_label(item: &ImportItem) -> String {
    item.payload
        .get("file_name")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| item.path.display().to_string())
}

/// Per item: the L2-normalised mean of its captions' embeddings (None
/// without captions), from one EmbedText call for the whole batch.
async fn mean_caption_vectors(
    clients: &mut Clients,
    items: &[(ImportItem, Vec<u8>)],
) -> Result<Vec<Option<Vec<f32>>>, ClientError> {
    let texts: Vec<String> = items
        .iter()
        .flat_map(|(item, _)| item.captions.iter().cloned())
        .collect();
    if texts.is_empty() {
        return Ok(vec![None; items.len()]);
    }
    let embeddings = clients
        .embeddings
        .embed_text(proto::EmbedTextRequest { texts })
        .await
        .map_err(|s| ClientError::rpc("embed captions", s))?
        .into_inner()
        .embeddings;
    let mut rows = embeddings.into_iter().map(|v| v.values);
    Ok(items
        .iter()
        .map(|(item, _)| {
            let vectors: Vec<Vec<f32>> = rows.by_ref().take(item.captions.len()).collect();
            mean_normalised(&vectors)
        })
        .collect())
}

/// The normalised mean of unit vectors; None for none (or a zero mean).
pub fn mean_normalised(vectors: &[Vec<f32>]) -> Option<Vec<f32>> {
    let first = vectors.first()?;
    let mut sum = vec![0.0f32; first.len()];
    for v in vectors {
        for (s, x) in sum.iter_mut().zip(v) {
            *s += x;
        }
    }
    let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt();
    (norm > 0.0).then(|| sum.into_iter().map(|x| x / norm).collect())
}
