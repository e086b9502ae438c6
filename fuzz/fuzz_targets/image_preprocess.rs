//! Image decode and CLIP preprocessing (what EmbedImage, image searches and
//! image upserts run on client bytes before the model sees them).
#![no_main]

use std::sync::OnceLock;

use clipdb::embed::{ImageLimits, PreprocessConfig, Preprocessor};
use libfuzzer_sys::fuzz_target;

fn preprocessor() -> &'static Preprocessor {
    static P: OnceLock<Preprocessor> = OnceLock::new();
    P.get_or_init(|| {
        // The server's checks with smaller limits, so that each input stays
        // cheap: 4 megapixels, 1 MiB encoded.
        let limits = ImageLimits {
            max_pixels: 4_000_000,
            max_bytes: 1 << 20,
        };
        Preprocessor::new(PreprocessConfig::clip_default(224), limits)
    })
}

fuzz_target!(|data: &[u8]| {
    let p = preprocessor();
    if let Ok(pixels) = p.preprocess(data, 0) {
        assert_eq!(pixels.len(), 3 * 224 * 224);
    }
});
