//! The page of `examples/web`: draws a Mandelbrot image with
//! `spindle::par` on Web Workers, and times it, `fib` through `join` and
//! a tree sum on a pool of 1 worker and on one of N. The main thread only
//! submits and awaits.
#![cfg(target_arch = "wasm32")]

use spindle_web::WebPool;
use wasm_bindgen::prelude::*;

const WIDTH: usize = 800;
const HEIGHT: usize = 500;
const MAX_ITER: u32 = 2000;

fn fib(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = spindle::join(|| fib(n - 1), || fib(n - 2));
    a + b
}

/// A complete binary tree of heap nodes, summed with a join per node.
struct Node {
    value: u64,
    children: Option<Box<(Node, Node)>>,
}

fn build(depth: u32, value: u64) -> Node {
    Node {
        value,
        children: (depth > 0)
            .then(|| Box::new((build(depth - 1, 2 * value), build(depth - 1, 2 * value + 1)))),
    }
}

fn sum(node: &Node) -> u64 {
    match &node.children {
        None => node.value,
        Some(c) => {
            let (a, b) = spindle::join(|| sum(&c.0), || sum(&c.1));
            node.value + a + b
        }
    }
}

/// The RGBA pixels of the Mandelbrot set, rows in parallel.
fn mandelbrot() -> Vec<u8> {
    let mut pixels = vec![0u8; WIDTH * HEIGHT * 4];
    spindle::par::chunks_mut(&mut pixels, WIDTH * 4, |row, line: &mut [u8]| {
        let y = (row as f64 / HEIGHT as f64) * 2.4 - 1.2;
        for x in 0..WIDTH {
            let cx = (x as f64 / WIDTH as f64) * 3.5 - 2.5;
            let (mut zx, mut zy, mut i) = (0.0f64, 0.0f64, 0);
            while zx * zx + zy * zy < 4.0 && i < MAX_ITER {
                let t = zx * zx - zy * zy + cx;
                zy = 2.0 * zx * zy + y;
                zx = t;
                i += 1;
            }
            let shade = if i == MAX_ITER {
                0
            } else {
                (i * 7 % 256) as u8
            };
            line[x * 4..x * 4 + 4].copy_from_slice(&[shade / 3, shade / 2, shade, 255]);
        }
    });
    pixels
}

fn now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

/// Milliseconds `pool` takes for each workload, and the image.
async fn measure(pool: &WebPool) -> Result<([f64; 3], Vec<u8>), JsValue> {
    let err = |e: spindle::JobError| JsValue::from_str(&e.to_string());
    let t = now();
    let image = pool.run(mandelbrot).await.map_err(err)?;
    let mandel = now() - t;
    let t = now();
    let f = pool.run(|| fib(30)).await.map_err(err)?;
    let fib_ms = now() - t;
    assert_eq!(f, 832_040);
    // The tree is built on a worker too, outside the timed sum.
    let tree = pool.run(|| build(20, 1)).await.map_err(err)?;
    let tree = std::sync::Arc::new(tree);
    let t = now();
    let s = {
        let tree = tree.clone();
        pool.run(move || sum(&tree)).await.map_err(err)?
    };
    let tree_ms = now() - t;
    let expect: u64 = (1..(1u64 << 21)).sum();
    assert_eq!(s, expect);
    Ok(([mandel, fib_ms, tree_ms], image))
}

/// Runs the workloads on 1 worker and on `workers`, draws the image into
/// the canvas `canvas_id`, and returns the timings as JSON.
#[wasm_bindgen]
pub async fn run_demo(canvas_id: String, workers: usize) -> Result<String, JsValue> {
    let workers = if workers == 0 {
        WebPool::default_workers()
    } else {
        workers
    };
    let err = |e: spindle::Error| JsValue::from_str(&e.to_string());
    let one = WebPool::new(1).map_err(err)?;
    let many = WebPool::new(workers).map_err(err)?;
    // A first round warms the workers (module instantiation) and lets
    // the browser compile the hot code with its optimising tier; timing
    // the baseline tier made the 1-worker run look 2x slower.
    measure(&one).await?;
    measure(&many).await?;
    let (t1, _) = measure(&one).await?;
    let (tn, image) = measure(&many).await?;

    let document = web_sys::window().unwrap().document().unwrap();
    let canvas: web_sys::HtmlCanvasElement = document
        .get_element_by_id(&canvas_id)
        .ok_or("no canvas")?
        .dyn_into()?;
    canvas.set_width(WIDTH as u32);
    canvas.set_height(HEIGHT as u32);
    let ctx: web_sys::CanvasRenderingContext2d =
        canvas.get_context("2d")?.ok_or("no 2d")?.dyn_into()?;
    // ImageData refuses a view of shared memory: copy to a JS array.
    let pixels = js_sys::Uint8ClampedArray::new_with_length(image.len() as u32);
    pixels.copy_from(&image);
    let data = web_sys::ImageData::new_with_js_u8_clamped_array_and_sh(
        &pixels,
        WIDTH as u32,
        HEIGHT as u32,
    )?;
    ctx.put_image_data(&data, 0.0, 0.0)?;

    let row = |name: &str, i: usize| {
        format!(
            "{{\"workload\":\"{name}\",\"ms_1\":{:.1},\"ms_n\":{:.1},\"speedup\":{:.2}}}",
            t1[i],
            tn[i],
            t1[i] / tn[i]
        )
    };
    Ok(format!(
        "{{\"workers\":{workers},\"rows\":[{},{},{}]}}",
        row("mandelbrot-800x500", 0),
        row("fib-30", 1),
        row("tree-sum-2^21", 2)
    ))
}
