//! The CLIP tokenizer reproduces HF `CLIPTokenizerFast(truncation=True, max_length=77)`.

use std::path::PathBuf;

use clipdb::embed::ClipTokenizer;

fn fixtures() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/clip"
    ))
}

#[test]
fn ids_equal_hf_for_all_88_texts() {
    let tok = ClipTokenizer::from_file(&fixtures().join("tokenizer.json"), 77).unwrap();
    let cases: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("tokens.json")).unwrap())
            .unwrap();
    assert_eq!(cases.len(), 88);
    let texts: Vec<&str> = cases.iter().map(|c| c["text"].as_str().unwrap()).collect();
    let got = tok.encode(&texts).unwrap();
    for (i, (case, ids)) in cases.iter().zip(&got).enumerate() {
        let want: Vec<u32> = case["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(ids, &want, "text {i}: {:?}", texts[i]);
    }
    // One at a time gives the same as the batch.
    for (i, t) in texts.iter().enumerate() {
        assert_eq!(tok.encode(&[t]).unwrap()[0], got[i]);
    }
}

#[test]
fn long_text_is_truncated_keeping_eot_last() {
    let tok = ClipTokenizer::from_file(&fixtures().join("tokenizer.json"), 77).unwrap();
    let long = "a photo of a cat ".repeat(100);
    let ids = &tok.encode(&[long.as_str()]).unwrap()[0];
    assert_eq!(ids.len(), 77);
    assert_eq!(ids[0], 49406);
    assert_eq!(ids[76], 49407);
    assert_eq!(tok.pad_id(), 49407);
    // Empty text: just start and end.
    assert_eq!(tok.encode(&[""]).unwrap()[0], vec![49406, 49407]);
}

#[test]
fn missing_tokenizer_file_is_named() {
    let err = ClipTokenizer::from_file(&fixtures().join("no-such-tokenizer.json"), 77)
        .err()
        .unwrap();
    assert!(err.to_string().contains("no-such-tokenizer.json"), "{err}");
}
