//! Thumbnails: a small JPEG of each image written to a collection that keeps
//! them (`CollectionConfig::thumbnails`), made at upsert from the uploaded
//! bytes and committed in the same metadata batch as the point, so that a
//! point and its thumbnail are durable, replaced and deleted together.

use std::io::Cursor;

use crate::embed::preprocess::Preprocessor;
use crate::engine::types::ThumbnailConfig;

/// The thumbnail of an encoded image: decoded as for embedding (same
/// decoder, same size limits), shrunk to fit `config.max_side` (never
/// enlarged), JPEG-encoded. None when the image cannot be decoded here; the
/// point is then stored without one.
pub(crate) fn make(
    preprocessor: &Preprocessor,
    image: &[u8],
    config: ThumbnailConfig,
) -> Option<Vec<u8>> {
    let rgb = preprocessor.decode(image, 0).ok()?;
    // Upright as a browser shows the file: CLIP sees the stored pixels (as
    // Hugging Face's processor does), a person sees the EXIF orientation.
    let rgb = match exif_orientation(image) {
        Some(o) if o != image::metadata::Orientation::NoTransforms => {
            let mut img = image::DynamicImage::ImageRgb8(rgb);
            img.apply_orientation(o);
            img.into_rgb8()
        }
        _ => rgb,
    };
    let (w, h) = rgb.dimensions();
    let side = config.max_side;
    let small = if w <= side && h <= side {
        rgb
    } else {
        let scale = side as f64 / w.max(h) as f64;
        let tw = ((w as f64 * scale).round() as u32).max(1);
        let th = ((h as f64 * scale).round() as u32).max(1);
        image::imageops::thumbnail(&rgb, tw, th)
    };
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut jpeg), config.quality)
        .encode_image(&small)
        .ok()?;
    Some(jpeg)
}

/// What the metadata store keeps for a thumbnail: the tag of the image
/// vector it was made with (see [`vector_tag`]), then the JPEG.
pub(crate) fn stored(image_vector: &[f32], jpeg: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + jpeg.len());
    out.extend_from_slice(&vector_tag(image_vector).to_le_bytes());
    out.extend_from_slice(&jpeg);
    out
}

/// A stored thumbnail's vector tag and JPEG.
pub(crate) fn split(stored: &[u8]) -> Option<(u32, &[u8])> {
    let tag = u32::from_le_bytes(stored.get(..4)?.try_into().ok()?);
    Some((tag, &stored[4..]))
}

/// CRC32 of an image vector's bytes. A snapshot copies a thumbnail after
/// its cut, when the point may have been replaced since: the tag tells
/// whether the thumbnail still belongs to the captured record's image (a
/// compaction move keeps the vector, and so the tag; a new image changes
/// both).
pub(crate) fn vector_tag(image_vector: &[f32]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    for x in image_vector {
        hasher.update(&x.to_le_bytes());
    }
    hasher.finalize()
}

/// The orientation an image's metadata asks for (read from its header).
fn exif_orientation(image: &[u8]) -> Option<image::metadata::Orientation> {
    use image::ImageDecoder;
    let mut decoder = image::ImageReader::new(Cursor::new(image))
        .with_guessed_format()
        .ok()?
        .into_decoder()
        .ok()?;
    decoder.orientation().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::preprocess::{ImageLimits, PreprocessConfig};

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x * y) % 256) as u8])
        });
        let mut out = Vec::new();
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn large_images_shrink_to_the_longest_side_small_ones_keep_their_size() {
        let pre = Preprocessor::new(PreprocessConfig::clip_default(224), ImageLimits::default());
        let config = ThumbnailConfig {
            max_side: 100,
            quality: 80,
        };
        let jpeg = make(&pre, &png(640, 320), config).unwrap();
        let thumb = image::load_from_memory(&jpeg).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (100, 50));
        let jpeg = make(&pre, &png(40, 30), config).unwrap();
        let thumb = image::load_from_memory(&jpeg).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (40, 30));
        assert!(make(&pre, b"not an image", config).is_none());
    }

    #[test]
    fn stored_thumbnails_carry_their_vectors_tag() {
        let v = [0.6f32, 0.8];
        let kept = stored(&v, vec![0xff, 0xd8]);
        let (tag, jpeg) = split(&kept).unwrap();
        assert_eq!((tag, jpeg), (vector_tag(&v), &[0xff, 0xd8][..]));
        assert_ne!(tag, vector_tag(&[0.8, 0.6]));
        assert!(split(&[1, 2]).is_none());
    }

    /// A photo whose EXIF says "rotate 90°" (stored 640x480) comes out
    /// upright, as browsers show it.
    #[test]
    fn exif_orientation_is_applied() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/fixtures/clip/images/exif_orient6_640x480.jpg");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let pre = Preprocessor::new(PreprocessConfig::clip_default(224), ImageLimits::default());
        let jpeg = make(&pre, &bytes, ThumbnailConfig::default()).unwrap();
        let thumb = image::load_from_memory(&jpeg).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (144, 192));
    }
}
