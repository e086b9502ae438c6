//! CLIP throughput with `openai/clip-vit-base-patch32` shapes and random weights.
//!
//! `RAYON_NUM_THREADS=1 cargo bench --bench embed` (and `=2`). Images/s excludes
//! preprocessing (random 224x224 pixel values); preprocessing (decode + resize +
//! crop + normalise of `photo_640x480.jpg`) is timed separately. Each number is
//! the median of at least 3 timed calls after 2 warm-up calls, at least
//! `CLIPDB_BENCH_SECS` (default 2) seconds of calls. Beside each rate: items per
//! CPU-second (process user + system time), comparable under contention;
//! `python benches/clip_pytorch.py` prints the same for PyTorch.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};
use clipdb::embed::clip::{ClipConfig, ClipModel};
use clipdb::embed::{
    BatchConfig, ClipTokenizer, EmbedQueue, Embedder, ImageLimits, PreprocessConfig, Preprocessor,
};

/// The server binary's allocator (src/bin/clipdb/main.rs), so the figures are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CAPTIONS: [&str; 32] = [
    "A black cat sitting on a white wooden chair near the window",
    "Two dogs running across a green field on a sunny afternoon",
    "A man riding a bicycle down a busy city street at night",
    "A plate of pasta with tomato sauce and fresh basil leaves",
    "A red double decker bus parked next to the old train station",
    "Children playing football in a park surrounded by tall trees",
    "A small boat floating on a calm lake under a cloudy sky",
    "A woman holding an umbrella while walking in the heavy rain",
    "A bowl of fruit with apples, bananas and oranges on a table",
    "An airplane flying over snowy mountains at sunrise today",
    "A group of people sitting around a campfire on the beach",
    "A giraffe eating leaves from the top of a tall acacia tree",
    "A kitchen with stainless steel appliances and a marble counter",
    "A young boy flying a colorful kite on a windy hill",
    "Several surfers waiting for waves in the blue ocean water",
    "A laptop and a cup of coffee on a desk beside a lamp",
    "A herd of elephants walking slowly through the dry savanna",
    "A clock tower in the middle of a crowded market square",
    "A skateboarder performing a trick on a concrete ramp outside",
    "A pizza with pepperoni and mushrooms cut into eight slices",
    "A horse standing alone in a foggy meadow in the early morning",
    "Two people sharing an umbrella on a rainy city sidewalk",
    "A train crossing a long stone bridge over a deep river valley",
    "A teddy bear sitting on a bed with a blue striped blanket",
    "A zebra grazing next to a muddy watering hole in the sun",
    "A fire hydrant on the corner of a snowy residential street",
    "A baseball player swinging a bat during an evening game",
    "A cat sleeping on top of a warm computer keyboard at home",
    "A vase of sunflowers standing on a wooden kitchen table",
    "A motorcycle parked in front of a small roadside cafe",
    "A person skiing down a steep slope covered in fresh snow",
    "A flock of birds flying over the sea at the end of the day",
];

fn fixtures() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/clip"
    ))
}

/// Median wall time of one call, and the mean CPU time of one call (user +
/// system, all threads; None where /proc is missing). CPU time stays
/// comparable when other processes share the cores, wall time does not.
fn time<F: FnMut()>(min_secs: f64, mut f: F) -> Duration {
    time_cpu(min_secs, &mut f).0
}

fn time_cpu<F: FnMut()>(min_secs: f64, mut f: F) -> (Duration, Option<Duration>) {
    f();
    f();
    let mut times = Vec::new();
    let cpu_start = process_cpu();
    let start = Instant::now();
    while times.len() < 3 || start.elapsed().as_secs_f64() < min_secs {
        let t = Instant::now();
        f();
        times.push(t.elapsed());
    }
    let cpu = match (cpu_start, process_cpu()) {
        (Some(a), Some(b)) => Some((b.saturating_sub(a)) / times.len() as u32),
        _ => None,
    };
    times.sort();
    (times[times.len() / 2], cpu)
}

/// This process's user + system time so far (Linux: /proc/self/stat, in
/// clock ticks of 10 ms; the timed loops run for seconds).
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn per_cpu_second(items: usize, cpu: Option<Duration>) -> String {
    match cpu {
        Some(c) if !c.is_zero() => format!(", {:.2}/cpu-s", items as f64 / c.as_secs_f64()),
        _ => String::new(),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let secs: f64 = std::env::var("CLIPDB_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into());
    let cfg = ClipConfig::vit_base_patch32();
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let model = ClipModel::new(vb, &cfg).expect("build model");
    let tokenizer =
        ClipTokenizer::from_file(&fixtures().join("tokenizer.json"), 77).expect("tokenizer");
    let pre = Preprocessor::new(PreprocessConfig::clip_default(224), ImageLimits::default());
    let e = Arc::new(Embedder::from_parts(
        model,
        cfg,
        tokenizer,
        pre,
        "random-vit-b-32",
    ));
    println!("threads={threads}");
    let pre = e.preprocessor();

    let ids = e.tokenizer().encode(&CAPTIONS).unwrap();
    let lens: Vec<usize> = ids.iter().map(Vec::len).collect();
    println!(
        "caption tokens: min {} max {}",
        lens.iter().min().unwrap(),
        lens.iter().max().unwrap()
    );
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let pixels: Vec<Vec<f32>> = (0..16)
        .map(|_| {
            (0..3 * 224 * 224)
                .map(|_| {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    (rng >> 40) as f32 / (1u64 << 24) as f32 * 4.0 - 2.0
                })
                .collect()
        })
        .collect();

    for b in [1usize, 16] {
        let (t, cpu) = time_cpu(secs, || {
            e.embed_pixel_values(&pixels[..b], true).unwrap();
        });
        println!(
            "images batch {b:>2}: {:>7.2} images/s ({:.1} ms/call{})",
            b as f64 / t.as_secs_f64(),
            t.as_secs_f64() * 1e3,
            per_cpu_second(b, cpu)
        );
    }
    for b in [1usize, 32] {
        let rows: Vec<Vec<u32>> = if b == 1 {
            vec![ids
                .iter()
                .find(|r| r.len() == 15)
                .cloned()
                .unwrap_or_else(|| ids[0].clone())]
        } else {
            ids.clone()
        };
        let (t, cpu) = time_cpu(secs, || {
            e.embed_token_ids(&rows, true).unwrap();
        });
        println!(
            "texts  batch {b:>2}: {:>7.2} texts/s ({:.1} ms/call, {} tokens{})",
            b as f64 / t.as_secs_f64(),
            t.as_secs_f64() * 1e3,
            rows.iter().map(Vec::len).max().unwrap(),
            per_cpu_second(b, cpu)
        );
    }
    let jpg = std::fs::read(fixtures().join("images/photo_640x480.jpg")).unwrap();
    let png = std::fs::read(fixtures().join("images/portrait_480x640.png")).unwrap();
    for (name, bytes) in [("photo_640x480.jpg", &jpg), ("portrait_480x640.png", &png)] {
        let t = time(secs.min(1.0), || {
            pre.preprocess(bytes, 0).unwrap();
        });
        let d = time(secs.min(1.0), || {
            pre.decode(bytes, 0).unwrap();
        });
        println!(
            "preprocess {name}: {:.2} ms/image (decode {:.2} ms)",
            t.as_secs_f64() * 1e3,
            d.as_secs_f64() * 1e3
        );
    }
    concurrent_clients(&e, &png);
}

/// Throughput of single-item requests from 8 concurrent clients through the
/// batching queue, against the same clients with batching off (max_batch 1)
/// and against one client at a time.
fn concurrent_clients(e: &Arc<Embedder>, image: &[u8]) {
    const CLIENTS: usize = 8;
    const PER_CLIENT: usize = 8;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for images in [false, true] {
        let per_client = if images { 2 } else { PER_CLIENT };
        let total = CLIENTS * per_client;
        let run = |clients: usize, max_batch: usize| -> f64 {
            let queue = EmbedQueue::new(
                Arc::clone(e),
                BatchConfig {
                    max_batch,
                    ..BatchConfig::default()
                },
            );
            let image = image.to_vec();
            let start = Instant::now();
            rt.block_on(async {
                let mut tasks = Vec::new();
                for c in 0..clients {
                    let q = queue.clone();
                    let image = image.clone();
                    tasks.push(tokio::spawn(async move {
                        for i in 0..total / clients {
                            if images {
                                q.embed_images(vec![image.clone()]).await.unwrap();
                            } else {
                                let text = CAPTIONS[(c * 7 + i) % CAPTIONS.len()].to_string();
                                q.embed_texts(vec![text]).await.unwrap();
                            }
                        }
                    }));
                }
                for t in tasks {
                    t.await.unwrap();
                }
            });
            total as f64 / start.elapsed().as_secs_f64()
        };
        let what = if images {
            "images (incl. preprocessing)"
        } else {
            "texts"
        };
        let one = run(1, 32);
        let unbatched = run(CLIENTS, 1);
        let batched = run(CLIENTS, 32);
        println!(
            "{what}, single-item requests: 1 client {one:.2}/s; {CLIENTS} clients unbatched {unbatched:.2}/s; \
             {CLIENTS} clients batched (max_batch 32) {batched:.2}/s ({:.2}x one client)",
            batched / one
        );
    }
}
