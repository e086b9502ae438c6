//! `clipdb demo-data`: a synthetic captioned image set in COCO captions
//! layout, so the whole recipe (import, search, gallery) can be tried without
//! downloading COCO. Images come from the generator the demo model was
//! trained on (`clipdb::demo`), with a seed of their own.

use std::path::Path;

use rayon::prelude::*;
use serde_json::json;

use super::ClientError;
use clipdb::demo::synth::{encode_jpeg, RenderOptions, Scene, SceneOptions};
use clipdb::demo::Rng;

/// Side of the written images in pixels.
pub const IMAGE_SIDE: u32 = 256;

/// Writes `dir/images/NNNNNNNNNNNN.jpg` and `dir/captions.json` for `count`
/// scenes of the stream `seed`. Each `images[]` entry also carries its
/// `scene` (shapes, colours, sizes, positions): the ground truth, ignored by
/// COCO readers. Returns the number of images written.
pub fn write_demo_data(dir: &Path, count: usize, seed: u64) -> Result<usize, ClientError> {
    let images_dir = dir.join("images");
    std::fs::create_dir_all(&images_dir).map_err(|e| ClientError::file(&images_dir, e))?;
    let entries: Vec<(serde_json::Value, Vec<String>)> = (0..count)
        .into_par_iter()
        .map(|i| {
            let id = i as u64 + 1;
            let scene = Scene::nth(seed, i as u64, &SceneOptions::default());
            // Captions and rendering draw from a stream of their own, so the
            // scene content stays the same whatever they consume.
            let mut rng = Rng::for_index(seed ^ 0x5EED_CA97_10E5, i as u64);
            let render = RenderOptions::random(&mut rng);
            let image = scene.render_with(IMAGE_SIDE, &render);
            let file_name = format!("{id:012}.jpg");
            let path = images_dir.join(&file_name);
            std::fs::write(&path, encode_jpeg(&image, 90))
                .map_err(|e| ClientError::file(&path, e))?;
            let captions = scene.captions(&mut rng);
            let entry = json!({
                "id": id,
                "file_name": file_name,
                "width": IMAGE_SIDE,
                "height": IMAGE_SIDE,
                "scene": scene,
            });
            Ok((entry, captions))
        })
        .collect::<Result<_, ClientError>>()?;
    let mut images = Vec::with_capacity(count);
    let mut annotations = Vec::new();
    for (entry, captions) in entries {
        let image_id = entry["id"].clone();
        images.push(entry);
        for caption in captions {
            annotations.push(json!({
                "id": annotations.len() + 1,
                "image_id": image_id,
                "caption": caption,
            }));
        }
    }
    let file = json!({
        "info": {
            "description": "clipdb synthetic shapes (clipdb demo-data)",
            "seed": seed,
        },
        "images": images,
        "annotations": annotations,
    });
    let path = dir.join("captions.json");
    std::fs::write(
        &path,
        serde_json::to_vec_pretty(&file).expect("json encodes"),
    )
    .map_err(|e| ClientError::file(&path, e))?;
    Ok(count)
}
