//! A TCP echo server and a load generator in one process, both as async
//! tasks on one spindle pool, with no I/O thread: the pool's workers
//! drive the sockets (`spindle::io::Async`) and the timers
//! (`spindle::time`).
//!
//! `cargo run --release -p spindle --example echo -- [CLIENTS] [TRIPS]`
//! (default 200 clients, 50 round trips of 1 KiB each). Prints the round
//! trip percentiles and the slowest client's total, and checks every
//! echoed byte.

#[cfg(unix)]
mod unix {
    use std::net::{TcpListener, TcpStream};
    use std::time::{Duration, Instant};

    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    use spindle::io::Async;
    use spindle::JoinSet;

    const MSG: usize = 1024;

    /// Echoes every connection on a task of its own until the peer hangs up.
    async fn serve(listener: Async<TcpListener>) {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            spindle::spawn_async(async move {
                let mut buf = [0u8; MSG];
                loop {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if conn.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    }

    /// One client: connects, makes `trips` round trips, returns their times
    /// and its total.
    async fn client(
        addr: std::net::SocketAddr,
        id: usize,
        trips: usize,
    ) -> std::io::Result<(Vec<Duration>, Duration)> {
        let start = Instant::now();
        let mut s =
            spindle::time::timeout(Duration::from_secs(10), Async::<TcpStream>::connect(addr))
                .await
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::TimedOut, e))??;
        let mut times = Vec::with_capacity(trips);
        let mut back = [0u8; MSG];
        for t in 0..trips {
            let msg = [(id * 31 + t) as u8; MSG];
            let t0 = Instant::now();
            s.write_all(&msg).await?;
            s.read_exact(&mut back).await?;
            times.push(t0.elapsed());
            assert!(back == msg, "client {id}: echo mismatch on trip {t}");
        }
        Ok((times, start.elapsed()))
    }

    fn pct(sorted: &[Duration], p: usize) -> Duration {
        sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
    }

    pub fn main() -> Result<(), Box<dyn std::error::Error>> {
        let mut args = std::env::args().skip(1);
        let clients: usize = args.next().map_or(Ok(200), |a| a.parse())?;
        let trips: usize = args.next().map_or(Ok(50), |a| a.parse())?;
        let pool = spindle::Pool::builder().build()?;
        let threads = spindle::current_num_threads();
        let start = Instant::now();
        let results = pool.block_on(async move {
            let listener = Async::<TcpListener>::bind("127.0.0.1:0")?;
            let addr = listener.get_ref().local_addr()?;
            let server = spindle::spawn_async(serve(listener));
            let mut set = JoinSet::new();
            for id in 0..clients {
                set.spawn(client(addr, id, trips));
            }
            let mut results = Vec::with_capacity(clients);
            while let Some(r) = set.join_next().await {
                results.push(r.expect("a client task panicked")?);
            }
            server.abort();
            std::io::Result::Ok(results)
        })?;
        let wall = start.elapsed();
        let mut rtt: Vec<Duration> = results.iter().flat_map(|r| r.0.iter().copied()).collect();
        rtt.sort();
        let slowest = results.iter().map(|r| r.1).max().unwrap_or_default();
        assert_eq!(rtt.len(), clients * trips);
        println!(
            "echo: {clients} clients x {trips} round trips of {MSG} B on {threads} threads in {wall:.2?}"
        );
        println!("| round trip | p50 | p90 | p99 | max |");
        println!("|---|---|---|---|---|");
        println!(
            "| spindle | {:.1?} | {:.1?} | {:.1?} | {:.1?} |",
            pct(&rtt, 50),
            pct(&rtt, 90),
            pct(&rtt, 99),
            rtt[rtt.len() - 1]
        );
        println!("slowest client total: {slowest:.1?}");
        Ok(())
    }
}

#[cfg(unix)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    unix::main()
}

#[cfg(not(unix))]
fn main() {
    eprintln!("echo: spindle::io is Unix-only for now");
}
