//! (f) The journal codec: encoding and decoding a typical step output as the
//! journal does now (CBOR through `trailhead::store::Value`), against the
//! JSON paths the journal took before, in the same run; and what 10 MB of
//! random bytes cost as a `Vec<u8>` and as a `serde_bytes::ByteBuf`, in
//! memory and in a SQLite store.
//!
//! `cargo bench --bench codec`: the sizes are printed first, then divan's
//! rows, each one encode, one decode, or both. BENCHMARKS.md has the table.

use std::hint::black_box;
use std::time::Instant;

use divan::Bencher;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use trailhead::store::Value;
use trailhead::{Engine, SqliteStore, Synchronous, workflow};

/// A typical step output: a few strings and numbers and a short list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Shipment {
    order_id: String,
    customer: String,
    carrier: String,
    weight_kg: f64,
    parcels: u32,
    total_cents: u64,
    express: bool,
    items: Vec<String>,
}

fn shipment() -> Shipment {
    Shipment {
        order_id: "ord-2024-000417".to_owned(),
        customer: "Ada Lovelace".to_owned(),
        carrier: "ups".to_owned(),
        weight_kg: 3.75,
        parcels: 2,
        total_cents: 129_990,
        express: true,
        items: vec![
            "sku-1042".to_owned(),
            "sku-2210".to_owned(),
            "sku-0007".to_owned(),
        ],
    }
}

/// `len` bytes that look random (xorshift), as a compressed or encrypted
/// payload would.
fn random_bytes(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

const TEN_MB: usize = 10 * 1024 * 1024;

async fn as_vec(bytes: Vec<u8>) -> Result<Vec<u8>, std::io::Error> {
    Ok(bytes)
}

async fn as_byte_buf(bytes: Vec<u8>) -> Result<ByteBuf, std::io::Error> {
    Ok(ByteBuf::from(bytes))
}

workflow! {
    /// One step that returns the bytes as a `Vec<u8>`.
    workflow keep_vec(bytes: Vec<u8>) -> Result<usize, trailhead::Error> {
        let kept = step as_vec(bytes);
        Ok(kept.len())
    }

    /// One step that returns the bytes as a `ByteBuf`.
    workflow keep_byte_buf(bytes: ByteBuf) -> Result<usize, trailhead::Error> {
        let kept = step as_byte_buf(bytes.into_vec());
        Ok(kept.len())
    }
}

/// The journaled size of the step's output in a SQLite store: its cell, and
/// the pages in use the whole run added (its input holds the bytes too).
fn sqlite_sizes(run: impl FnOnce(&Engine) -> usize) -> (i64, i64) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("runs.db");
    let store = SqliteStore::open_with(&path, Synchronous::Normal).expect("the store");
    let before = used_bytes(&path);
    let engine = Engine::builder().store(store).build();
    assert_eq!(run(&engine), TEN_MB);
    drop(engine);
    let connection = rusqlite::Connection::open(&path).expect("the database");
    let cell: i64 = connection
        .query_row("SELECT length(outcome) FROM steps", [], |row| row.get(0))
        .expect("the step's row");
    (cell, used_bytes(&path) - before)
}

/// Bytes in the database's pages in use (not on its free list).
fn used_bytes(path: &std::path::Path) -> i64 {
    let connection = rusqlite::Connection::open(path).expect("the database");
    let pragma = |name: &str| -> i64 {
        connection
            .query_row(&format!("PRAGMA {name}"), [], |row| row.get(0))
            .expect("a pragma")
    };
    (pragma("page_count") - pragma("freelist_count")) * pragma("page_size")
}

fn print_byte_buffer_sizes() {
    let bytes = random_bytes(TEN_MB);
    let mb = |n: usize| n as f64 / 1e6;
    let timed = |f: &dyn Fn() -> usize| {
        let began = Instant::now();
        let n = f();
        (n, began.elapsed())
    };
    let (json_len, json_time) = timed(&|| serde_json::to_vec(&bytes).expect("JSON").len());
    let (vec_len, vec_time) = timed(&|| {
        let value = Value::encode(&bytes).expect("CBOR");
        assert_eq!(value.decode::<Vec<u8>>().expect("read back"), bytes);
        value.bytes().len()
    });
    let buf = ByteBuf::from(bytes.clone());
    let (buf_len, buf_time) = timed(&|| {
        let value = Value::encode(&buf).expect("CBOR");
        assert_eq!(value.decode::<ByteBuf>().expect("read back"), buf);
        value.bytes().len()
    });
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let (vec_cell, vec_file) = sqlite_sizes(|engine| {
        runtime
            .block_on(engine.run(keep_vec, bytes.clone()))
            .expect("the run")
    });
    let (buf_cell, buf_file) = sqlite_sizes(|engine| {
        runtime
            .block_on(engine.run(keep_byte_buf, buf.clone()))
            .expect("the run")
    });
    println!("10 MiB ({TEN_MB} bytes) of random bytes, journaled:");
    println!(
        "  JSON array (before):    {:>6.2} MB, encode {json_time:?}",
        mb(json_len)
    );
    println!(
        "  Vec<u8>, CBOR array:    {:>6.2} MB in memory, encode + decode {vec_time:?}; \
         SQLite cell {:>6.2} MB, pages in use +{:.2} MB for the run",
        mb(vec_len),
        mb(vec_cell as usize),
        mb(vec_file as usize)
    );
    println!(
        "  ByteBuf, CBOR bytes:    {:>6.2} MB in memory, encode + decode {buf_time:?}; \
         SQLite cell {:>6.2} MB, pages in use +{:.2} MB for the run",
        mb(buf_len),
        mb(buf_cell as usize),
        mb(buf_file as usize)
    );
    let value = Value::encode(&shipment()).expect("CBOR");
    let json = serde_json::to_vec(&shipment()).expect("JSON");
    println!(
        "A `Shipment`: {} bytes of CBOR, {} of JSON",
        value.bytes().len(),
        json.len()
    );
}

fn main() {
    print_byte_buffer_sizes();
    divan::main();
}

/// A typical step output through the journal as it is now.
mod shipment_encode_decode {
    use super::*;

    /// CBOR: `Value::encode`, then `Value::decode` (a replay).
    #[divan::bench(sample_count = 1000)]
    fn cbor_value(bencher: Bencher<'_, '_>) {
        let output = shipment();
        bencher.bench_local(|| {
            let value = Value::encode(black_box(&output)).expect("CBOR");
            let back: Shipment = value.decode().expect("read back");
            black_box(back)
        });
    }

    /// JSON as the journal did before in memory: `serde_json::to_value`, then
    /// `T::deserialize(&value)`.
    #[divan::bench(sample_count = 1000)]
    fn json_value_tree(bencher: Bencher<'_, '_>) {
        let output = shipment();
        bencher.bench_local(|| {
            let value = serde_json::to_value(black_box(&output)).expect("JSON");
            let back = Shipment::deserialize(&value).expect("read back");
            black_box(back)
        });
    }

    /// JSON as the SQLite store did before: the tree, its text for the row,
    /// and back through a tree.
    #[divan::bench(sample_count = 1000)]
    fn json_text_through_tree(bencher: Bencher<'_, '_>) {
        let output = shipment();
        bencher.bench_local(|| {
            let value = serde_json::to_value(black_box(&output)).expect("JSON");
            let text = serde_json::to_string(&value).expect("JSON");
            let read: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            let back = Shipment::deserialize(&read).expect("read back");
            black_box(back)
        });
    }

    /// JSON straight to bytes and back: the best JSON could do.
    #[divan::bench(sample_count = 1000)]
    fn json_bytes(bencher: Bencher<'_, '_>) {
        let output = shipment();
        bencher.bench_local(|| {
            let bytes = serde_json::to_vec(black_box(&output)).expect("JSON");
            let back: Shipment = serde_json::from_slice(&bytes).expect("read back");
            black_box(back)
        });
    }
}

/// What a live step pays: the encode alone.
mod shipment_encode {
    use super::*;

    #[divan::bench(sample_count = 1000)]
    fn cbor_value(bencher: Bencher<'_, '_>) {
        let output = shipment();
        bencher.bench_local(|| Value::encode(black_box(&output)).expect("CBOR"));
    }

    #[divan::bench(sample_count = 1000)]
    fn json_value_tree(bencher: Bencher<'_, '_>) {
        let output = shipment();
        bencher.bench_local(|| serde_json::to_value(black_box(&output)).expect("JSON"));
    }
}

/// The chain benchmark's step output, a `u64`: what each step pays to encode it.
mod u64_encode {
    use super::*;

    #[divan::bench(sample_count = 1000, sample_size = 100)]
    fn cbor_value(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| Value::encode(black_box(&41_u64)).expect("CBOR"));
    }

    #[divan::bench(sample_count = 1000, sample_size = 100)]
    fn json_value_tree(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| serde_json::to_value(black_box(41_u64)).expect("JSON"));
    }
}

/// What a replay pays: the decode alone.
mod shipment_decode {
    use super::*;

    #[divan::bench(sample_count = 1000)]
    fn cbor_value(bencher: Bencher<'_, '_>) {
        let value = Value::encode(&shipment()).expect("CBOR");
        bencher.bench_local(|| black_box(&value).decode::<Shipment>().expect("read back"));
    }

    #[divan::bench(sample_count = 1000)]
    fn json_value_tree(bencher: Bencher<'_, '_>) {
        let value = serde_json::to_value(shipment()).expect("JSON");
        bencher.bench_local(|| Shipment::deserialize(black_box(&value)).expect("read back"));
    }
}
