//! Image preprocessing equal to Hugging Face's `CLIPImageProcessor` (Pillow path).
//!
//! Steps (see `shared/fixtures/clip/README.md` for the derivation):
//! 1. decode under byte/pixel limits: JPEG with libjpeg-turbo's decoder (the
//!    one inside Pillow) with Pillow's settings, everything else with the
//!    `image` crate (GIF: first frame); a truncated file is refused, as Pillow
//!    refuses it; EXIF orientation is **not** applied, as HF does not for
//!    decoded images (see [`decode_jpeg`] and docs/embedding.md);
//! 2. to 8-bit RGB; an alpha channel is composited over white with
//!    `(c * a + 255 * (255 - a) + 127) / 255`;
//! 3. shortest edge to `size`, the other edge `floor(size * long / short)`;
//! 4. Pillow's BICUBIC convolution in 22-bit fixed point, two passes with a u8
//!    intermediate, pass order of Pillow 13;
//! 5. centre crop (floor);
//! 6. rescale `(v as f64 * factor) as f32` and normalise `(x - mean) / std` in f32, CHW.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, Limits, RgbImage};
use rayon::prelude::*;
use serde_json::Value;

use super::EmbedError;

/// Guards against decompression bombs and oversized uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLimits {
    /// Largest accepted width x height of a decoded image (default 50 megapixels).
    pub max_pixels: u64,
    /// Largest accepted encoded size in bytes (default 32 MiB).
    pub max_bytes: usize,
}

impl Default for ImageLimits {
    fn default() -> Self {
        ImageLimits {
            max_pixels: 50_000_000,
            max_bytes: 32 << 20,
        }
    }
}

/// The values of `preprocessor_config.json` that matter, CLIP's when absent.
#[derive(Debug, Clone, PartialEq)]
pub struct PreprocessConfig {
    /// Target of the shortest edge (`size.shortest_edge`).
    pub shortest_edge: u32,
    /// Crop height and width (`crop_size`).
    pub crop: (u32, u32),
    pub do_rescale: bool,
    pub rescale_factor: f64,
    pub do_normalize: bool,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl PreprocessConfig {
    /// CLIP's processor defaults for a model of `image_size` pixels.
    // Mean and std verbatim from OpenAI/HF (rounded to f32 as HF does).
    #[allow(clippy::excessive_precision)]
    pub fn clip_default(image_size: u32) -> Self {
        PreprocessConfig {
            shortest_edge: image_size,
            crop: (image_size, image_size),
            do_rescale: true,
            rescale_factor: 1.0 / 255.0,
            do_normalize: true,
            mean: [0.481_454_66, 0.457_827_5, 0.408_210_73],
            std: [0.268_629_54, 0.261_302_58, 0.275_777_11],
        }
    }

    /// Reads `preprocessor_config.json`; a missing file gives the CLIP defaults.
    pub fn from_file(path: &Path, image_size: u32) -> Result<Self, EmbedError> {
        let mut cfg = Self::clip_default(image_size);
        if !path.exists() {
            return Ok(cfg);
        }
        let bad = |reason: String| EmbedError::model_file(path, reason);
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let v: Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        // `size` is an int (old configs) or {"shortest_edge": n}.
        match v.get("size") {
            Some(Value::Number(n)) => {
                cfg.shortest_edge = as_u32(n).ok_or_else(|| bad("bad size".into()))?
            }
            Some(Value::Object(o)) => {
                if let Some(n) = o.get("shortest_edge").and_then(Value::as_u64) {
                    cfg.shortest_edge = n as u32;
                } else {
                    return Err(bad(format!(
                        "unsupported size {o:?}: only shortest_edge is supported"
                    )));
                }
            }
            _ => {}
        }
        match v.get("crop_size") {
            Some(Value::Number(n)) => {
                let s = as_u32(n).ok_or_else(|| bad("bad crop_size".into()))?;
                cfg.crop = (s, s);
            }
            Some(Value::Object(o)) => {
                let h = o.get("height").and_then(Value::as_u64);
                let w = o.get("width").and_then(Value::as_u64);
                match (h, w) {
                    (Some(h), Some(w)) => cfg.crop = (h as u32, w as u32),
                    _ => return Err(bad(format!("unsupported crop_size {o:?}"))),
                }
            }
            _ => {}
        }
        if let Some(b) = v.get("do_rescale").and_then(Value::as_bool) {
            cfg.do_rescale = b;
        }
        if let Some(f) = v.get("rescale_factor").and_then(Value::as_f64) {
            cfg.rescale_factor = f;
        }
        if let Some(b) = v.get("do_normalize").and_then(Value::as_bool) {
            cfg.do_normalize = b;
        }
        for (key, dst) in [("image_mean", &mut cfg.mean), ("image_std", &mut cfg.std)] {
            if let Some(a) = v.get(key) {
                let vals: Option<Vec<f64>> = a
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_f64).collect());
                match vals {
                    Some(vals) if vals.len() == 3 => {
                        for (d, s) in dst.iter_mut().zip(vals) {
                            *d = s as f32;
                        }
                    }
                    _ => return Err(bad(format!("{key} must be 3 numbers"))),
                }
            }
        }
        if cfg.shortest_edge == 0 || cfg.crop.0 == 0 || cfg.crop.1 == 0 {
            return Err(bad("zero size or crop_size".into()));
        }
        if cfg.crop.0 > cfg.shortest_edge || cfg.crop.1 > cfg.shortest_edge {
            return Err(bad(format!(
                "crop_size {:?} larger than size.shortest_edge {} is not supported",
                cfg.crop, cfg.shortest_edge
            )));
        }
        Ok(cfg)
    }
}

fn as_u32(n: &serde_json::Number) -> Option<u32> {
    n.as_u64().and_then(|n| u32::try_from(n).ok())
}

/// Decodes, resizes, crops and normalises images for one CLIP model.
#[derive(Debug, Clone)]
pub struct Preprocessor {
    pub config: PreprocessConfig,
    pub limits: ImageLimits,
}

impl Preprocessor {
    pub fn new(config: PreprocessConfig, limits: ImageLimits) -> Self {
        Preprocessor { config, limits }
    }

    /// Decodes `bytes` (JPEG, PNG, GIF, WebP or BMP) to 8-bit RGB.
    /// `index` only labels errors.
    pub fn decode(&self, bytes: &[u8], index: usize) -> Result<RgbImage, EmbedError> {
        decode_rgb(bytes, index, &self.limits)
    }

    /// Resize (shortest edge) and centre crop: the reference's `resized_u8` (HWC).
    pub fn resize_crop(&self, img: &RgbImage) -> RgbImage {
        let (w, h) = img.dimensions();
        let (nw, nh) = resize_dims(w, h, self.config.shortest_edge);
        let resized = resize_bicubic(img, nw, nh);
        let (ch, cw) = self.config.crop;
        let top = (nh - ch) / 2;
        let left = (nw - cw) / 2;
        image::imageops::crop_imm(&resized, left, top, cw, ch).to_image()
    }

    /// Rescale and normalise a cropped image to CHW f32 (the reference's `pixel_values`).
    pub fn normalize(&self, img: &RgbImage) -> Vec<f32> {
        let c = &self.config;
        let (w, h) = img.dimensions();
        let plane = (w * h) as usize;
        let mut out = vec![0f32; 3 * plane];
        for (i, px) in img.pixels().enumerate() {
            for ch in 0..3 {
                let mut x = if c.do_rescale {
                    (px.0[ch] as f64 * c.rescale_factor) as f32
                } else {
                    px.0[ch] as f32
                };
                if c.do_normalize {
                    x = (x - c.mean[ch]) / c.std[ch];
                }
                out[ch * plane + i] = x;
            }
        }
        out
    }

    /// Bytes to CHW pixel values.
    pub fn preprocess(&self, bytes: &[u8], index: usize) -> Result<Vec<f32>, EmbedError> {
        let img = self.decode(bytes, index)?;
        self.check_resize(img.width(), img.height(), index)?;
        Ok(self.normalize(&self.resize_crop(&img)))
    }

    /// Refuses an image whose resized size (shortest edge to `size`, before
    /// the centre crop) would pass the pixel limit. A long thin image is small
    /// to decode but huge once resized: a 274-byte 1x100000 PNG would be
    /// resized to 224x22400000 pixels (15 GB) and abort the server.
    pub fn check_resize(&self, w: u32, h: u32, index: usize) -> Result<(), EmbedError> {
        let short = self.config.shortest_edge as u64;
        let (long, shortest_in) = if w <= h {
            (h as u64, w as u64)
        } else {
            (w as u64, h as u64)
        };
        let resized_long = short * long / shortest_in.max(1);
        let pixels = resized_long.saturating_mul(short);
        if resized_long > u32::MAX as u64 || pixels > self.limits.max_pixels {
            return Err(EmbedError::ImageTooLarge {
                index,
                reason: format!(
                    "{w}x{h} resized to a shortest edge of {short} is {pixels} pixels, limit {} \
                     (aspect ratio too extreme)",
                    self.limits.max_pixels
                ),
            });
        }
        Ok(())
    }

    /// Preprocesses many images in parallel (rayon); the first error (lowest index) wins.
    pub fn preprocess_many(&self, images: &[&[u8]]) -> Result<Vec<Vec<f32>>, EmbedError> {
        images
            .par_iter()
            .enumerate()
            .map(|(i, b)| self.preprocess(b, i))
            .collect()
    }
}

/// Decodes an image to 8-bit RGB under `limits`, checking the size before the full decode.
pub fn decode_rgb(
    bytes: &[u8],
    index: usize,
    limits: &ImageLimits,
) -> Result<RgbImage, EmbedError> {
    let invalid = |reason: String| EmbedError::InvalidImage { index, reason };
    if bytes.is_empty() {
        return Err(invalid("empty image data".into()));
    }
    if bytes.len() > limits.max_bytes {
        return Err(EmbedError::ImageTooLarge {
            index,
            reason: format!("{} bytes, limit {}", bytes.len(), limits.max_bytes),
        });
    }
    if bytes.starts_with(JPEG_MAGIC) {
        return decode_jpeg(bytes, index, limits);
    }
    if let Some(reason) = webp_truncated(bytes).or_else(|| gif_truncated(bytes)) {
        return Err(invalid(reason));
    }
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| invalid(e.to_string()))?;
    if reader.format().is_none() {
        return Err(invalid(
            "unrecognised image format (supported: JPEG, PNG, GIF, WebP, BMP)".into(),
        ));
    }
    let mut reader = reader;
    let mut lim = Limits::default();
    // Enough for the largest accepted image as 16-bit RGBA, plus decoder scratch.
    lim.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(lim);
    let decoder = reader
        .into_decoder()
        .map_err(|e| map_image_error(e, index))?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(invalid(format!("zero-size image ({w}x{h})")));
    }
    let pixels = w as u64 * h as u64;
    if pixels > limits.max_pixels {
        return Err(EmbedError::ImageTooLarge {
            index,
            reason: format!("{w}x{h} = {pixels} pixels, limit {}", limits.max_pixels),
        });
    }
    let img = DynamicImage::from_decoder(decoder).map_err(|e| map_image_error(e, index))?;
    Ok(to_rgb8(img))
}

/// A WebP whose RIFF header announces more bytes than there are. The `image`
/// crate decodes a lossy WebP that lacks only its last bytes (padding the VP8
/// data does not need); libwebp, and so Pillow, refuses it as truncated.
fn webp_truncated(bytes: &[u8]) -> Option<String> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WEBP" {
        return None;
    }
    let riff = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes")) as u64;
    let want = riff + 8;
    (want > bytes.len() as u64).then(|| {
        format!(
            "truncated image: the WebP header announces {want} bytes, the data has {}",
            bytes.len()
        )
    })
}

/// A GIF whose first image's data sub-blocks run past the end of the data.
/// The `image` crate (gif) decodes such a file when the missing bytes are
/// the last of the LZW data; Pillow refuses it ("image file is truncated").
/// A GIF lacking only the block terminator and trailer (all data there) is
/// read by both. Later frames are not looked at: neither decoder reads them.
fn gif_truncated(b: &[u8]) -> Option<String> {
    if !(b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a")) {
        return None;
    }
    let truncated = || {
        Some(format!(
            "truncated image: the GIF data ends at byte {}",
            b.len()
        ))
    };
    let table = |flags: u8| {
        if flags & 0x80 != 0 {
            3usize << ((flags & 7) + 1)
        } else {
            0
        }
    };
    if b.len() < 13 {
        return truncated();
    }
    let mut i = 13 + table(b[10]);
    loop {
        match b.get(i) {
            None => return truncated(),
            // Extension: label, then sub-blocks up to a zero length.
            Some(0x21) => {
                i += 2;
                loop {
                    match b.get(i) {
                        None => return truncated(),
                        Some(0) => break,
                        Some(&n) => i += 1 + n as usize,
                    }
                }
                i += 1;
            }
            // Image descriptor, local colour table, LZW code size, data sub-blocks.
            Some(0x2C) => {
                let Some(&flags) = b.get(i + 9) else {
                    return truncated();
                };
                i += 10 + table(flags) + 1;
                while let Some(&n) = b.get(i) {
                    if n == 0 {
                        return None;
                    }
                    i += 1 + n as usize;
                }
                return (i > b.len()).then(truncated).flatten();
            }
            // Trailer before any image, or not a block: the decoder says what is wrong.
            Some(_) => return None,
        }
    }
}

/// How a JPEG starts (SOI and the next marker's 0xFF); what Pillow and the
/// `image` crate both recognise JPEG by.
const JPEG_MAGIC: &[u8] = b"\xFF\xD8\xFF";

/// More scans than any real JPEG has (progressive files have about 10): a
/// small progressive file with thousands of tiny scans would make the decoder
/// walk every block of a large image once per scan. libjpeg-turbo suggests
/// 500 for its own scan limit (`TJPARAM_SCANLIMIT`); Pillow has none.
pub const JPEG_MAX_SCANS: u32 = 500;

// libjpeg reports a bad JPEG by unwinding out of its C code (see
// `decode_jpeg`); under panic=abort any client's bad JPEG would abort the
// server. (The cargo-fuzz targets, feature `fuzzing`, are left alone.)
#[cfg(all(panic = "abort", not(feature = "fuzzing")))]
compile_error!(
    "clipdb must be built with panic = \"unwind\": JPEG decode errors unwind out of libjpeg"
);

/// Why libjpeg's callbacks abandoned a decode (the unwinding payload).
enum JpegAbort {
    /// libjpeg's `error_exit`, with its message.
    Fatal(String),
    /// The decoder needed bytes past the end of the data.
    Truncated,
    /// More than [`JPEG_MAX_SCANS`] scans.
    TooManyScans,
}

/// Per-thread state of the decode running on this thread (libjpeg is
/// synchronous; the callbacks only see libjpeg's own struct).
#[derive(Clone, Copy)]
struct JpegState {
    /// Until the last scanline is out, running out of data is an error.
    eof_is_error: bool,
    scans: u32,
}

thread_local! {
    static JPEG_STATE: std::cell::Cell<JpegState> = const {
        std::cell::Cell::new(JpegState { eof_is_error: true, scans: 0 })
    };
}

/// libjpeg `error_exit`: must not return, so unwind (the C code is built with
/// unwind tables, mozjpeg-sys's `unwinding` feature) to [`decode_jpeg`]'s
/// `catch_unwind`. `resume_unwind` skips the panic hook: no log noise.
unsafe extern "C-unwind" fn jpeg_error_exit(cinfo: &mut mozjpeg_sys::jpeg_common_struct) {
    let mut buf = [0u8; 80]; // JMSG_LENGTH_MAX
                             // SAFETY: `cinfo.err` is the manager libjpeg is reporting through; its
                             // `format_message` writes at most JMSG_LENGTH_MAX bytes, NUL-terminated,
                             // into the buffer (declared `&[u8; 80]` by the bindings, written by C).
    let msg = unsafe {
        match cinfo.err.as_ref().and_then(|e| e.format_message) {
            Some(f) => {
                let f: unsafe extern "C-unwind" fn(
                    &mut mozjpeg_sys::jpeg_common_struct,
                    *mut [u8; 80],
                ) = std::mem::transmute(f);
                f(cinfo, &mut buf);
                let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
                String::from_utf8_lossy(&buf[..end]).into_owned()
            }
            None => format!("libjpeg error {}", (*cinfo.err).msg_code),
        }
    };
    std::panic::resume_unwind(Box::new(JpegAbort::Fatal(msg)));
}

/// libjpeg `emit_message`: warnings (level -1) and trace messages (level 1
/// and up). Pillow ignores warnings (corrupt data that libjpeg recovers from,
/// as extraneous bytes before a marker), so do we, except running out of data.
unsafe extern "C-unwind" fn jpeg_emit_message(
    cinfo: &mut mozjpeg_sys::jpeg_common_struct,
    level: std::os::raw::c_int,
) {
    // SAFETY: libjpeg calls this with its live error manager set.
    let code = unsafe { (*cinfo.err).msg_code };
    let mut st = JPEG_STATE.get();
    if level < 0 && code == mozjpeg_sys::JWRN_JPEG_EOF as std::os::raw::c_int && st.eof_is_error {
        std::panic::resume_unwind(Box::new(JpegAbort::Truncated));
    }
    if level == 1 && code == mozjpeg_sys::JTRC_SOS as std::os::raw::c_int {
        st.scans += 1;
        JPEG_STATE.set(st);
        if st.scans > JPEG_MAX_SCANS {
            std::panic::resume_unwind(Box::new(JpegAbort::TooManyScans));
        }
    }
}

/// Decodes a JPEG to 8-bit RGB exactly as Pillow 13 (what HF's processor
/// opens images with) does, `Image.open(f).convert("RGB")`:
/// - libjpeg-turbo's decoder (MozJPEG's copy, plain C), islow integer IDCT and
///   fancy (triangle) chroma upsampling: libjpeg's defaults, which Pillow
///   keeps unless asked for a draft;
/// - 1 component: libjpeg's grayscale output, replicated; 3 components:
///   libjpeg's RGB output (YCbCr or Adobe RGB as libjpeg detects it);
///   4 components (CMYK, or YCCK which libjpeg turns into CMYK): Pillow reads
///   them as Adobe-inverted `CMYK;I` and converts with
///   `nk - (c * nk + 128) * 257 / 65536`, `nk = 255 - k` (its `cmyk2rgb`);
///   other component counts are refused, as Pillow refuses them;
/// - truncated data is refused: Pillow raises "image file is truncated" when
///   the decoder wants bytes past the end before the last row is out (a
///   missing EOI after the last row is accepted, by both);
/// - no EXIF orientation.
///
/// The size from the header is checked against `limits` before any pixel is
/// decoded; at most [`JPEG_MAX_SCANS`] scans are read.
pub fn decode_jpeg(
    bytes: &[u8],
    index: usize,
    limits: &ImageLimits,
) -> Result<RgbImage, EmbedError> {
    use mozjpeg::{ColorSpace, DctMethod, Decompress};
    let invalid = |reason: String| EmbedError::InvalidImage { index, reason };
    let run = || -> Result<RgbImage, EmbedError> {
        // SAFETY: a zeroed jpeg_error_mgr is what jpeg_std_error expects to fill in.
        let mut err: mozjpeg_sys::jpeg_error_mgr = unsafe { std::mem::zeroed() };
        unsafe { mozjpeg_sys::jpeg_std_error(&mut err) };
        err.error_exit = Some(jpeg_error_exit);
        err.emit_message = Some(jpeg_emit_message);
        let mut d = Decompress::with_err(err)
            .from_mem(bytes)
            .map_err(|e| invalid(format!("invalid JPEG: {e}")))?;
        let (w, h) = d.size();
        let (w, h) = (w as u32, h as u32);
        if w == 0 || h == 0 {
            return Err(invalid(format!("zero-size image ({w}x{h})")));
        }
        let pixels = w as u64 * h as u64;
        if pixels > limits.max_pixels {
            return Err(EmbedError::ImageTooLarge {
                index,
                reason: format!("{w}x{h} = {pixels} pixels, limit {}", limits.max_pixels),
            });
        }
        d.dct_method(DctMethod::IntegerSlow);
        d.do_fancy_upsampling(true);
        let ncomp = d.components().len();
        let out = match ncomp {
            1 => ColorSpace::JCS_GRAYSCALE,
            3 => ColorSpace::JCS_RGB,
            4 => ColorSpace::JCS_CMYK,
            n => return Err(invalid(format!("cannot handle {n}-component JPEG"))),
        };
        let mut started = d
            .to_colorspace(out)
            .map_err(|e| invalid(format!("invalid JPEG: {e}")))?;
        let data: Vec<u8> = started.read_scanlines().map_err(|e| match e.kind() {
            std::io::ErrorKind::OutOfMemory => EmbedError::ImageTooLarge {
                index,
                reason: format!("{w}x{h}: out of memory"),
            },
            _ => invalid(format!("invalid JPEG: {e}")),
        })?;
        // Every row is out: a missing EOI is no error (as in Pillow), a
        // corrupt trailer still is.
        JPEG_STATE.set(JpegState {
            eof_is_error: false,
            ..JPEG_STATE.get()
        });
        started
            .finish()
            .map_err(|e| invalid(format!("invalid JPEG: {e}")))?;
        let rgb = match ncomp {
            1 => data.iter().flat_map(|&v| [v, v, v]).collect(),
            3 => data,
            _ => data
                .chunks_exact(4)
                .flat_map(|p| {
                    // Adobe-inverted CMYK, as Pillow's "CMYK;I" raw mode reads it.
                    let [c, m, y, k] = [255 - p[0], 255 - p[1], 255 - p[2], 255 - p[3]];
                    let nk = 255 - k as u32;
                    let f = |v: u8| {
                        let t = v as u32 * nk + 128;
                        (nk - (((t >> 8) + t) >> 8)) as u8
                    };
                    [f(c), f(m), f(y)]
                })
                .collect(),
        };
        RgbImage::from_raw(w, h, rgb).ok_or_else(|| invalid(format!("decoded JPEG is not {w}x{h}")))
    };
    JPEG_STATE.set(JpegState {
        eof_is_error: true,
        scans: 0,
    });
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(r) => r,
        Err(payload) => match payload.downcast::<JpegAbort>() {
            Ok(abort) => Err(match *abort {
                JpegAbort::Fatal(msg) => invalid(format!("invalid JPEG: {msg}")),
                JpegAbort::Truncated => {
                    invalid("truncated image: the JPEG data ends before the image does".into())
                }
                JpegAbort::TooManyScans => invalid(format!(
                    "JPEG has more than {JPEG_MAX_SCANS} scans (a decompression bomb?)"
                )),
            }),
            // A panic of our own (a bug): not libjpeg's to swallow.
            Err(other) => std::panic::resume_unwind(other),
        },
    }
}

fn map_image_error(e: ImageError, index: usize) -> EmbedError {
    match e {
        ImageError::Limits(l) => EmbedError::ImageTooLarge {
            index,
            reason: l.to_string(),
        },
        ImageError::Unsupported(u) => EmbedError::InvalidImage {
            index,
            reason: format!("unsupported image: {u}"),
        },
        other => EmbedError::InvalidImage {
            index,
            reason: other.to_string(),
        },
    }
}

/// `(c * a + 255 * (255 - a) + 127) / 255`: alpha over opaque white, as HF/Pillow.
#[inline]
fn over_white(c: u8, a: u8) -> u8 {
    let (c, a) = (c as u32, a as u32);
    ((c * a + 255 * (255 - a) + 127) / 255) as u8
}

/// Converts any decoded image to 8-bit RGB the way HF's Pillow path does:
/// alpha composited over white, grey replicated, 16-bit reduced to the high byte
/// (Pillow's `RGB;16B` raw mode).
pub fn to_rgb8(img: DynamicImage) -> RgbImage {
    use DynamicImage as D;
    let (w, h) = (img.width(), img.height());
    match img {
        D::ImageRgb8(i) => i,
        D::ImageLuma8(i) => RgbImage::from_fn(w, h, |x, y| {
            let v = i.get_pixel(x, y).0[0];
            image::Rgb([v, v, v])
        }),
        D::ImageLumaA8(i) => RgbImage::from_fn(w, h, |x, y| {
            let [v, a] = i.get_pixel(x, y).0;
            let v = over_white(v, a);
            image::Rgb([v, v, v])
        }),
        D::ImageRgba8(i) => RgbImage::from_fn(w, h, |x, y| {
            let [r, g, b, a] = i.get_pixel(x, y).0;
            image::Rgb([over_white(r, a), over_white(g, a), over_white(b, a)])
        }),
        D::ImageRgb16(i) => RgbImage::from_fn(w, h, |x, y| {
            let p = i.get_pixel(x, y).0;
            image::Rgb([(p[0] >> 8) as u8, (p[1] >> 8) as u8, (p[2] >> 8) as u8])
        }),
        D::ImageRgba16(i) => RgbImage::from_fn(w, h, |x, y| {
            let p = i.get_pixel(x, y).0.map(|v| (v >> 8) as u8);
            image::Rgb([
                over_white(p[0], p[3]),
                over_white(p[1], p[3]),
                over_white(p[2], p[3]),
            ])
        }),
        D::ImageLuma16(i) => RgbImage::from_fn(w, h, |x, y| {
            let v = (i.get_pixel(x, y).0[0] >> 8) as u8;
            image::Rgb([v, v, v])
        }),
        D::ImageLumaA16(i) => RgbImage::from_fn(w, h, |x, y| {
            let p = i.get_pixel(x, y).0.map(|v| (v >> 8) as u8);
            let v = over_white(p[0], p[1]);
            image::Rgb([v, v, v])
        }),
        other => {
            // Float images (not produced by the enabled decoders): go through RGBA8.
            let i = other.to_rgba8();
            RgbImage::from_fn(w, h, |x, y| {
                let [r, g, b, a] = i.get_pixel(x, y).0;
                image::Rgb([over_white(r, a), over_white(g, a), over_white(b, a)])
            })
        }
    }
}

/// HF's `get_resize_output_image_size` for `shortest_edge`: `(width, height)`.
pub fn resize_dims(w: u32, h: u32, shortest: u32) -> (u32, u32) {
    if w <= h {
        (shortest, (shortest as u64 * h as u64 / w as u64) as u32)
    } else {
        ((shortest as u64 * w as u64 / h as u64) as u32, shortest)
    }
}

const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Pillow's bicubic kernel (a = -0.5), in Pillow's exact expression.
#[inline]
fn bicubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// Per output index: first input index and fixed-point weights (Pillow `precompute_coeffs`
/// followed by `normalize_coeffs_8bpc`).
fn coeffs(in_size: u32, out_size: u32) -> Vec<(usize, Vec<i32>)> {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = 2.0 * filterscale;
    let ss = 1.0 / filterscale;
    (0..out_size)
        .map(|i| {
            let center = (i as f64 + 0.5) * scale;
            let xmin = ((center - support + 0.5) as i64).max(0);
            let xmax = ((center + support + 0.5) as i64).min(in_size as i64);
            let n = (xmax - xmin).max(0) as usize;
            let mut w: Vec<f64> = (0..n)
                .map(|j| bicubic((j as f64 + xmin as f64 - center + 0.5) * ss))
                .collect();
            let sum: f64 = w.iter().sum();
            if sum != 0.0 {
                for v in &mut w {
                    *v /= sum;
                }
            }
            let k = w
                .iter()
                .map(|&v| {
                    let s = v * (1u32 << PRECISION_BITS) as f64;
                    if v < 0.0 {
                        (s - 0.5) as i32
                    } else {
                        (s + 0.5) as i32
                    }
                })
                .collect();
            (xmin as usize, k)
        })
        .collect()
}

#[inline]
fn clip8(acc: i64) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

fn resize_horizontal(src: &[u8], w: u32, h: u32, out_w: u32) -> Vec<u8> {
    let cs = coeffs(w, out_w);
    let (w, out_w) = (w as usize, out_w as usize);
    let mut out = vec![0u8; out_w * h as usize * 3];
    out.par_chunks_mut(out_w * 3)
        .zip(src.par_chunks(w * 3))
        .for_each(|(orow, irow)| {
            for (x, (xmin, k)) in cs.iter().enumerate() {
                for c in 0..3 {
                    let mut acc: i64 = 1 << (PRECISION_BITS - 1);
                    for (j, &kj) in k.iter().enumerate() {
                        acc += kj as i64 * irow[(xmin + j) * 3 + c] as i64;
                    }
                    orow[x * 3 + c] = clip8(acc);
                }
            }
        });
    out
}

fn resize_vertical(src: &[u8], w: u32, h: u32, out_h: u32) -> Vec<u8> {
    let cs = coeffs(h, out_h);
    let row = w as usize * 3;
    let mut out = vec![0u8; row * out_h as usize];
    out.par_chunks_mut(row)
        .zip(cs.par_iter())
        .for_each(|(orow, (ymin, k))| {
            for (i, o) in orow.iter_mut().enumerate() {
                let mut acc: i64 = 1 << (PRECISION_BITS - 1);
                for (j, &kj) in k.iter().enumerate() {
                    acc += kj as i64 * src[(ymin + j) * row + i] as i64;
                }
                *o = clip8(acc);
            }
        });
    out
}

/// Pillow 13's `Image.resize(size, BICUBIC)` on an RGB image, bit for bit.
pub fn resize_bicubic(img: &RgbImage, out_w: u32, out_h: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    let need_h = out_w != w;
    let need_v = out_h != h;
    let mut buf = img.as_raw().clone();
    let (dw, dh) = (w as i64 - out_w as i64, h as i64 - out_h as i64);
    let vertical_first = dh > 0 && dh > 2 * dw;
    if vertical_first {
        if need_v {
            buf = resize_vertical(&buf, w, h, out_h);
        }
        if need_h {
            buf = resize_horizontal(&buf, w, out_h, out_w);
        }
    } else {
        if need_h {
            buf = resize_horizontal(&buf, w, h, out_w);
        }
        if need_v {
            buf = resize_vertical(&buf, out_w, h, out_h);
        }
    }
    RgbImage::from_raw(out_w, out_h, buf).expect("buffer size matches")
}
