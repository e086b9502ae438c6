//! CLIP tokenizer: the model's `tokenizer.json` through the `tokenizers` crate.
//!
//! Equals HF `CLIPTokenizerFast(text, truncation=True, max_length=N)`: texts are
//! never rejected for length, they are cut to `N` ids with the end-of-text id
//! kept last (`[SOT] + first N-2 BPE ids + [EOT]`).

use std::path::Path;

use tokenizers::{Tokenizer, TruncationParams};

use super::EmbedError;

const EOT: &str = "<|endoftext|>";

/// A CLIP BPE tokenizer with truncation to the model's context length.
pub struct ClipTokenizer {
    inner: Tokenizer,
    max_len: usize,
    pad_id: u32,
}

impl ClipTokenizer {
    /// Loads `tokenizer.json`, truncating to `max_len` ids (the text model's
    /// `max_position_embeddings`).
    pub fn from_file(path: &Path, max_len: usize) -> Result<Self, EmbedError> {
        if !path.is_file() {
            return Err(EmbedError::model_file(path, "not found"));
        }
        let mut inner = Tokenizer::from_file(path).map_err(|e| EmbedError::model_file(path, e))?;
        inner
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                ..Default::default()
            }))
            .map_err(|e| EmbedError::model_file(path, e))?;
        inner.with_padding(None);
        let pad_id = inner.token_to_id(EOT).ok_or_else(|| {
            EmbedError::model_file(path, format!("no {EOT} token: not a CLIP tokenizer"))
        })?;
        Ok(ClipTokenizer {
            inner,
            max_len,
            pad_id,
        })
    }

    /// Token ids of each text, with start/end tokens, at most `max_len` long.
    pub fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>, EmbedError> {
        let encodings = self
            .inner
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EmbedError::Inference(format!("tokenizer: {e}")))?;
        Ok(encodings
            .into_iter()
            .map(|e| e.get_ids().to_vec())
            .collect())
    }

    /// The id used to pad a batch (`<|endoftext|>`, 49407 for CLIP).
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// Maximum number of ids per text (the context length).
    pub fn max_len(&self) -> usize {
        self.max_len
    }
}
