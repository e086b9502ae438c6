//! Image preprocessing against HF `CLIPImageProcessor` (Pillow path) reference outputs.

use std::collections::HashMap;
use std::path::PathBuf;

use candle_core::{Device, Tensor};
use clipdb::embed::preprocess::{resize_dims, PreprocessConfig, Preprocessor};
use clipdb::embed::{EmbedError, ImageLimits};

fn fixtures() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/clip"
    ))
}

fn reference() -> HashMap<String, Tensor> {
    candle_core::safetensors::load(fixtures().join("reference.safetensors"), &Device::Cpu).unwrap()
}

fn preprocessor(limits: ImageLimits) -> Preprocessor {
    let cfg = PreprocessConfig::from_file(&fixtures().join("tiny/preprocessor_config.json"), 224)
        .unwrap();
    Preprocessor::new(cfg, limits)
}

fn image_names() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(fixtures().join("images"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    assert_eq!(v.len(), 15);
    v
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("images").join(name)).unwrap()
}

/// (max abs difference in levels, fraction of values that differ)
fn u8_diff(a: &[u8], b: &[u8]) -> (u8, f64) {
    assert_eq!(a.len(), b.len());
    let mut max = 0;
    let mut n = 0;
    for (x, y) in a.iter().zip(b) {
        let d = x.abs_diff(*y);
        max = max.max(d);
        n += (d != 0) as usize;
    }
    (max, n as f64 / a.len() as f64)
}

fn f32_max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn config_is_read() {
    let p = preprocessor(ImageLimits::default());
    assert_eq!(p.config, PreprocessConfig::clip_default(224));
}

#[test]
fn resize_dims_follow_hf() {
    assert_eq!(resize_dims(640, 480, 224), (298, 224));
    assert_eq!(resize_dims(480, 640, 224), (224, 298));
    assert_eq!(resize_dims(225, 321, 224), (224, 319));
    assert_eq!(resize_dims(1000, 200, 224), (1120, 224));
    assert_eq!(resize_dims(31, 17, 224), (408, 224));
    assert_eq!(resize_dims(224, 224, 224), (224, 224));
}

#[test]
fn resized_and_pixel_values_match_reference() {
    let r = reference();
    let p = preprocessor(ImageLimits::default());
    for name in image_names() {
        let img = p.decode(&read(&name), 0).unwrap();
        let crop = p.resize_crop(&img);
        let want_u8 = r[&format!("resized_u8.{name}")]
            .flatten_all()
            .unwrap()
            .to_vec1::<u8>()
            .unwrap();
        let (max, frac) = u8_diff(crop.as_raw(), &want_u8);
        let pixels = p.normalize(&crop);
        let want_px = r[&format!("pixel_values.{name}")]
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let pdiff = f32_max_diff(&pixels, &want_px);
        eprintln!(
            "{name:36} resized_u8 max {max} levels, {:.2} % differ; pixel_values max {pdiff:.4}",
            frac * 100.0
        );
        // Every format bit for bit: PNG, GIF, WebP with the `image` crate,
        // JPEG with libjpeg-turbo's decoder, as Pillow decodes them.
        assert_eq!(max, 0, "{name}: resized_u8 differs");
        assert_eq!(pixels, want_px, "{name}: pixel_values differ");
        // The one-call path gives the same values.
        assert_eq!(p.preprocess(&read(&name), 0).unwrap(), pixels);
    }
}

#[test]
fn exif_orientation_is_not_applied_like_hf() {
    // HF's reference `pixel_values` (a decoded PIL image) ignore EXIF orientation.
    let r = reference();
    let p = preprocessor(ImageLimits::default());
    let name = "exif_orient6_640x480.jpg";
    let img = p.decode(&read(name), 0).unwrap();
    assert_eq!(img.dimensions(), (640, 480));
    let px = p.preprocess(&read(name), 0).unwrap();
    let plain = r[&format!("pixel_values.{name}")]
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let rotated = r[&format!("pixel_values_exif_transposed.{name}")]
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert_eq!(px, plain);
    assert!(f32_max_diff(&px, &rotated) > 0.5);
}

/// Inserts an APP1 Exif segment (little-endian TIFF, one IFD0 entry:
/// Orientation = `orientation`) right after a JPEG's SOI marker.
pub fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    assert_eq!(&jpeg[..2], b"\xFF\xD8");
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"II*\0");
    tiff.extend_from_slice(&8u32.to_le_bytes()); // IFD0 offset
    tiff.extend_from_slice(&1u16.to_le_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_le_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_le_bytes()); // count
    tiff.extend_from_slice(&orientation.to_le_bytes());
    tiff.extend_from_slice(&[0, 0]); // value padding
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    let mut body = b"Exif\0\0".to_vec();
    body.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(b"\xFF\xE1");
    out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&body);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn inserted_exif_orientation_changes_nothing() {
    // Pillow's `Image.open` does not rotate, and HF's processor does not call
    // `ImageOps.exif_transpose` on a decoded image: neither do we.
    let p = preprocessor(ImageLimits::default());
    let plain = read("photo_640x480.jpg");
    for orientation in [3, 6, 8] {
        let rotated = with_exif_orientation(&plain, orientation);
        assert_ne!(rotated, plain);
        let img = p.decode(&rotated, 0).unwrap();
        assert_eq!(img.dimensions(), (640, 480));
        assert_eq!(
            img,
            p.decode(&plain, 0).unwrap(),
            "orientation {orientation}"
        );
    }
}

fn jpeg_fixtures() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jpeg"))
}

/// tests/fixtures/jpeg: small JPEGs of the kinds the CLIP fixtures lack
/// (progressive, CMYK, YCCK, arithmetic coding, restart markers, 4:4:4 to
/// 4:1:1, Adobe RGB, quality 20 to 95), each beside Pillow 13.0.0's
/// `Image.open(f).convert("RGB")` saved as PNG (see its README.md).
#[test]
fn jpeg_decoding_matches_pillow_bit_for_bit() {
    let p = preprocessor(ImageLimits::default());
    let mut names: Vec<String> = std::fs::read_dir(jpeg_fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".jpg"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 14);
    for name in names {
        let got = p
            .decode(&std::fs::read(jpeg_fixtures().join(&name)).unwrap(), 0)
            .unwrap();
        let png = jpeg_fixtures().join(name.replace(".jpg", ".pillow.png"));
        let want = image::open(&png).unwrap().to_rgb8();
        assert_eq!(got.dimensions(), want.dimensions(), "{name}");
        let (max, frac) = u8_diff(got.as_raw(), want.as_raw());
        eprintln!(
            "{name:34} vs Pillow: max {max} levels, {:.2} % differ",
            frac * 100.0
        );
        assert_eq!(max, 0, "{name}: differs from Pillow");
    }
}

fn bmp_bytes(img: &image::RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Bmp).unwrap();
    out.into_inner()
}

/// An interrupted upload: Pillow raises "image file is truncated" (or a
/// broken-stream error) for every one of these cuts, and so must we,
/// naming the image. JPEG cuts include the last byte and the EOI marker
/// alone: libjpeg-turbo reads ahead for the marker before the last row is
/// out, and Pillow refuses those too (checked with Pillow 13.0.0).
#[test]
fn truncated_images_are_refused_in_every_format() {
    let p = preprocessor(ImageLimits::default());
    let jpeg = |n: &str| std::fs::read(jpeg_fixtures().join(n)).unwrap();
    let bmp = bmp_bytes(&p.decode(&read("tiny_31x17.png"), 0).unwrap());
    // (what, bytes, how many bytes the "all but a few" cuts drop)
    let cases: Vec<(&str, Vec<u8>, Vec<usize>)> = vec![
        ("JPEG baseline", read("photo_640x480.jpg"), vec![1, 2, 8]),
        (
            "JPEG baseline 3000x2000",
            read("large_3000x2000.jpg"),
            vec![1, 2, 8],
        ),
        ("JPEG grayscale", read("gray_401x300.jpg"), vec![1, 2, 8]),
        (
            "JPEG progressive",
            jpeg("q85_progressive_420.jpg"),
            vec![1, 2, 8],
        ),
        ("JPEG progressive YCCK", jpeg("ycck_q90.jpg"), vec![1, 2, 8]),
        ("JPEG CMYK", jpeg("cmyk_q90.jpg"), vec![1, 2, 8]),
        (
            "JPEG arithmetic",
            jpeg("q75_arithmetic_420.jpg"),
            vec![1, 2, 8],
        ),
        (
            "JPEG restart markers",
            jpeg("q75_restart_420.jpg"),
            vec![1, 2, 8],
        ),
        // PNG: Pillow reads a PNG whose IEND (and up to ~20 bytes of the
        // zlib trailer) is missing, all pixels being there; 50 bytes short
        // it refuses.
        ("PNG", read("portrait_480x640.png"), vec![50]),
        ("PNG palette", read("palette_256x192.png"), vec![50]),
        ("WebP", read("lossy_400x300.webp"), vec![1, 8]),
        // GIF: without its trailer (1 byte) and block terminator Pillow
        // still reads it; 3 bytes short it refuses.
        ("GIF", read("palette_transparent_200x150.gif"), vec![3, 8]),
        ("BMP", bmp, vec![1, 8]),
    ];
    for (what, bytes, short) in cases {
        let n = bytes.len();
        assert!(p.decode(&bytes, 0).is_ok(), "{what}: whole file");
        let mut cuts = vec![n * 33 / 100, n * 90 / 100];
        cuts.extend(short.iter().map(|s| n - s));
        for cut in cuts {
            match p.decode(&bytes[..cut], 7) {
                Err(EmbedError::InvalidImage { index: 7, reason }) => {
                    eprintln!("{what:24} cut to {cut:7} of {n:7} bytes: {reason}")
                }
                Err(other) => panic!("{what} cut to {cut} of {n}: {other:?}"),
                Ok(img) => panic!(
                    "{what} cut to {cut} of {n} bytes was accepted ({}x{})",
                    img.width(),
                    img.height()
                ),
            }
        }
    }
    // Like Pillow, a GIF whose pixel data is all there but which lacks its
    // block terminator and trailer (the last 2 bytes) is read. (A PNG without
    // its IEND chunk Pillow reads too; the `image` crate refuses it.)
    let gif = read("palette_transparent_200x150.gif");
    for short in [1, 2] {
        assert!(
            p.decode(&gif[..gif.len() - short], 0).is_ok(),
            "GIF -{short}"
        );
    }
}

/// A progressive JPEG with a thousand scans (a scan repeated) is refused
/// before the decoder walks the image a thousand times; below the limit it
/// still decodes (libjpeg only warns about the bogus progression).
#[test]
fn jpeg_with_too_many_scans_is_refused() {
    use clipdb::embed::preprocess::JPEG_MAX_SCANS;
    let p = preprocessor(ImageLimits::default());
    let d = std::fs::read(jpeg_fixtures().join("q85_progressive_420.jpg")).unwrap();
    assert_eq!(&d[d.len() - 2..], b"\xFF\xD9");
    let last_sos = d.windows(2).rposition(|w| w == b"\xFF\xDA").unwrap();
    let scans = d.windows(2).filter(|w| *w == b"\xFF\xDA").count();
    let with_scans = |total: usize| {
        let mut out = d[..d.len() - 2].to_vec();
        for _ in scans..total {
            out.extend_from_slice(&d[last_sos..d.len() - 2]);
        }
        out.extend_from_slice(b"\xFF\xD9");
        out
    };
    assert!(p.decode(&with_scans(JPEG_MAX_SCANS as usize), 0).is_ok());
    match p.decode(&with_scans(JPEG_MAX_SCANS as usize + 1), 4) {
        Err(EmbedError::InvalidImage { index: 4, reason }) => {
            assert!(reason.contains("scans"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn preprocess_many_keeps_order_and_reports_index() {
    let p = preprocessor(ImageLimits::default());
    let a = read("tiny_31x17.png");
    let b = read("square_224x224.png");
    let out = p.preprocess_many(&[&a, &b]).unwrap();
    assert_eq!(out[0], p.preprocess(&a, 0).unwrap());
    assert_eq!(out[1], p.preprocess(&b, 0).unwrap());
    let bad = b"not an image".to_vec();
    match p.preprocess_many(&[&a, &bad, &b]) {
        Err(EmbedError::InvalidImage { index: 1, .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_images_are_rejected() {
    let p = preprocessor(ImageLimits::default());
    let png = read("portrait_480x640.png");
    // Truncated PNG.
    match p.decode(&png[..png.len() / 2], 3) {
        Err(EmbedError::InvalidImage { index: 3, reason }) => eprintln!("truncated: {reason}"),
        other => panic!("{other:?}"),
    }
    // Truncated JPEG header.
    let jpg = read("photo_640x480.jpg");
    assert!(matches!(
        p.decode(&jpg[..100], 0),
        Err(EmbedError::InvalidImage { .. })
    ));
    // Empty and unknown bytes.
    assert!(matches!(
        p.decode(&[], 0),
        Err(EmbedError::InvalidImage { .. })
    ));
    match p.decode(b"hello, this is not an image at all", 0) {
        Err(EmbedError::InvalidImage { reason, .. }) => {
            assert!(reason.contains("format"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    // A format the `image` crate knows but this build does not enable (TIFF).
    match p.decode(b"II*\0\x08\0\0\0\0\0\0\0\0\0\0\0", 0) {
        Err(EmbedError::InvalidImage { reason, .. }) => eprintln!("tiff: {reason}"),
        other => panic!("{other:?}"),
    }
    // Zero-size: a BMP header claiming 0 x 0 pixels.
    let mut bmp = Vec::new();
    bmp.extend_from_slice(b"BM");
    bmp.extend_from_slice(&(54u32).to_le_bytes());
    bmp.extend_from_slice(&[0; 4]);
    bmp.extend_from_slice(&(54u32).to_le_bytes());
    bmp.extend_from_slice(&(40u32).to_le_bytes());
    bmp.extend_from_slice(&(0i32).to_le_bytes()); // width
    bmp.extend_from_slice(&(0i32).to_le_bytes()); // height
    bmp.extend_from_slice(&(1u16).to_le_bytes());
    bmp.extend_from_slice(&(24u16).to_le_bytes());
    bmp.extend_from_slice(&[0; 24]);
    match p.decode(&bmp, 0) {
        Err(EmbedError::InvalidImage { reason, .. }) => eprintln!("zero-size: {reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn limits_are_enforced_before_decoding() {
    let jpg = read("photo_640x480.jpg");
    let p = preprocessor(ImageLimits {
        max_pixels: 640 * 480 - 1,
        ..ImageLimits::default()
    });
    match p.decode(&jpg, 2) {
        Err(EmbedError::ImageTooLarge { index: 2, reason }) => {
            assert!(reason.contains("640x480"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    let p = preprocessor(ImageLimits {
        max_pixels: 640 * 480,
        ..ImageLimits::default()
    });
    assert!(p.decode(&jpg, 0).is_ok());
    let p = preprocessor(ImageLimits {
        max_bytes: 1000,
        ..ImageLimits::default()
    });
    assert!(matches!(
        p.decode(&jpg, 0),
        Err(EmbedError::ImageTooLarge { .. })
    ));
    // A PNG header that claims 100000 x 100000 pixels is refused without allocating.
    let mut png = read("tiny_31x17.png");
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32fast::hash(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    let p = preprocessor(ImageLimits::default());
    match p.decode(&png, 0) {
        Err(EmbedError::ImageTooLarge { reason, .. }) => {
            assert!(reason.contains("100000x100000"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

fn png_bytes(img: image::GrayImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Found while writing fuzz/image_preprocess (and confirmed with it): a long
/// thin image passes the decode limits but its resize (shortest edge to 224)
/// is enormous; a 1x100000 PNG of a few hundred bytes made the server
/// allocate 15 GB.
#[test]
fn extreme_aspect_ratio_is_refused_before_resizing() {
    let p = preprocessor(ImageLimits::default());
    let tall = png_bytes(image::GrayImage::new(1, 100_000));
    assert!(tall.len() < 100_000, "{} bytes", tall.len());
    match p.preprocess(&tall, 3) {
        Err(EmbedError::ImageTooLarge { index: 3, reason }) => {
            assert!(reason.contains("1x100000"), "{reason}")
        }
        other => panic!("{:?}", other.map(|v| v.len())),
    }
    let wide = png_bytes(image::GrayImage::new(4_000_000, 1));
    assert!(matches!(
        p.preprocess(&wide, 0),
        Err(EmbedError::ImageTooLarge { .. })
    ));
    // The limit is on the resized image: 10x200 resizes to 224x4480.
    let thin = png_bytes(image::GrayImage::new(10, 200));
    let exact = preprocessor(ImageLimits {
        max_pixels: 224 * 4480,
        ..ImageLimits::default()
    });
    assert_eq!(exact.preprocess(&thin, 0).unwrap().len(), 3 * 224 * 224);
    let below = preprocessor(ImageLimits {
        max_pixels: 224 * 4480 - 1,
        ..ImageLimits::default()
    });
    assert!(matches!(
        below.preprocess(&thin, 0),
        Err(EmbedError::ImageTooLarge { .. })
    ));
}
