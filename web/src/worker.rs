//! Starting a pool's workers as Web Workers: each gets the module, the
//! shared memory and a pointer to its `WorkerThread`, instantiates the
//! module on that memory (a new wasm thread) and runs the worker.
//!
//! The worker's script is made here, from the URL of the JS glue that
//! loaded this module (`import.meta.url` evaluated in the glue), so it
//! needs no file of its own next to the page. Its message handler is set
//! while the script is first evaluated, and only one message ever comes.

use std::cell::RefCell;
use std::io;

use spindle::WorkerThread;
use wasm_bindgen::prelude::*;
use web_sys::{Blob, BlobPropertyBag, Url, Worker, WorkerOptions, WorkerType};

#[wasm_bindgen]
extern "C" {
    /// The URL of the JS glue module that loaded us.
    #[wasm_bindgen(thread_local_v2, js_namespace = ["import", "meta"], js_name = url)]
    static GLUE_URL: String;
}

/// The worker's script. `GLUE` is replaced with the glue's URL.
const WORKER_JS: &str = r#"import init, * as glue from GLUE;
self.onmessage = async (event) => {
  self.onmessage = null;
  const [module, memory, ptr] = event.data;
  const wasm = await init({ module_or_path: module, memory });
  glue.spindle_web_worker_entry(ptr);
  // Frees this thread's stack and thread-locals in the shared memory.
  if (wasm.__wbindgen_thread_destroy) wasm.__wbindgen_thread_destroy();
  self.close();
};
"#;

thread_local! {
    /// The worker script's object URL, made once.
    static SCRIPT_URL: RefCell<Option<String>> = const { RefCell::new(None) };
    /// The `Worker` objects of every pool started on this thread: kept
    /// reachable so the browser does not collect a worker while it runs.
    static WORKERS: RefCell<Vec<Worker>> = const { RefCell::new(Vec::new()) };
}

fn script_url() -> Result<String, JsValue> {
    SCRIPT_URL.with(|cell| {
        if let Some(url) = cell.borrow().as_ref() {
            return Ok(url.clone());
        }
        let glue = GLUE_URL.with(|u| u.clone());
        let source = WORKER_JS.replace("GLUE", &format!("{glue:?}"));
        let parts = js_sys::Array::of1(&JsValue::from_str(&source));
        let options = BlobPropertyBag::new();
        options.set_type("text/javascript");
        let blob = Blob::new_with_str_sequence_and_options(&parts, &options)?;
        let url = Url::create_object_url_with_blob(&blob)?;
        *cell.borrow_mut() = Some(url.clone());
        Ok(url)
    })
}

/// The spawn handler of a [`WebPool`](crate::WebPool): starts `worker` in
/// a new module Web Worker. Call it from the thread that loaded the
/// module (Chromium deadlocks a worker that starts Workers and then
/// blocks).
pub(crate) fn start(worker: WorkerThread) -> io::Result<()> {
    let name = worker.name().to_owned();
    let ptr = Box::into_raw(Box::new(worker));
    let started = (|| -> Result<Worker, JsValue> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        options.set_name(&name);
        let web_worker = Worker::new_with_options(&script_url()?, &options)?;
        let message = js_sys::Array::of3(
            &wasm_bindgen::module(),
            &wasm_bindgen::memory(),
            &JsValue::from(ptr as u32),
        );
        web_worker.post_message(&message)?;
        Ok(web_worker)
    })();
    match started {
        Ok(web_worker) => {
            WORKERS.with(|w| w.borrow_mut().push(web_worker));
            Ok(())
        }
        Err(e) => {
            // SAFETY: the pointer came from `Box::into_raw` above and was
            // not handed to any worker (the post failed or never happened).
            drop(unsafe { Box::from_raw(ptr) });
            Err(io::Error::other(format!(
                "spindle-web: could not start a Web Worker: {e:?}"
            )))
        }
    }
}

/// The worker script's entry: runs the `WorkerThread` behind `ptr` until
/// its pool shuts down. Exported to JS only: the module is private, so no
/// Rust code can call it with a pointer of its own.
///
/// # Safety (of the export)
///
/// Only the worker script calls it, once, with the pointer that `start`
/// posted to it, which nothing else holds.
#[wasm_bindgen]
#[doc(hidden)]
pub fn spindle_web_worker_entry(ptr: u32) {
    // SAFETY: see above: `ptr` is the `Box::into_raw` of `start`, given to
    // exactly this worker.
    let worker = unsafe { Box::from_raw(ptr as *mut WorkerThread) };
    worker.run();
}
