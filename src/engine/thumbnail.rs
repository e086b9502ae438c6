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
}
