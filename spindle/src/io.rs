//! Async I/O on the pool's own event driver (Unix): [`Async`] wraps a
//! socket, pipe or other descriptor so tasks await its readiness instead
//! of blocking a worker.
//!
//! No thread is added for I/O: a worker with nothing to do sleeps in the
//! pool's event queue (epoll, kqueue) and wakes the tasks whose
//! descriptors became ready, with their priority and affinity, like any
//! wake; while every worker is busy, they take the events every few jobs.
//! See [`time`](crate::time) for timers, which the same driver runs.
//!
//! `Async` implements the `futures-io` traits `AsyncRead` and
//! `AsyncWrite`, so the usual extension methods (`futures-lite`'s
//! `AsyncReadExt`/`AsyncWriteExt`, or `futures`') work on it.
//!
//! What is not here (yet): Windows, files (use
//! [`spawn_blocking`](crate::spawn_blocking)), UDP helpers (wrap a
//! `UdpSocket` and use [`Async::read_with`]), and compatibility with
//! `async-io`'s own `Async`: code built on async-io keeps its own reactor
//! thread.
//!
//! ```
//! use futures_lite::{AsyncReadExt, AsyncWriteExt};
//! use spindle::io::Async;
//! use std::net::{TcpListener, TcpStream};
//!
//! let pool = spindle::Pool::builder().workers(2).build()?;
//! let echoed = pool.block_on(async {
//!     let listener = Async::<TcpListener>::bind("127.0.0.1:0")?;
//!     let addr = listener.get_ref().local_addr()?;
//!     let server = spindle::spawn_async(async move {
//!         let (mut conn, _) = listener.accept().await?;
//!         let mut buf = [0u8; 5];
//!         conn.read_exact(&mut buf).await?;
//!         conn.write_all(&buf).await?;
//!         std::io::Result::Ok(())
//!     });
//!     let mut client = Async::<TcpStream>::connect(addr).await?;
//!     client.write_all(b"hello").await?;
//!     let mut back = [0u8; 5];
//!     client.read_exact(&mut back).await?;
//!     server.await.unwrap()?;
//!     std::io::Result::Ok(back)
//! })?;
//! assert_eq!(&echoed, b"hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;

use crate::driver::source::{Direction, Source};
use crate::driver::Driver;

/// An I/O object (socket, pipe, any descriptor) registered with the
/// pool's event driver, its operations awaitable.
///
/// Made with [`Async::new`], which puts the descriptor in non-blocking
/// mode. Belongs to the driver of the pool whose thread makes it (or of
/// the global pool, outside every pool); it may be used from tasks of any
/// pool. Dropping it deregisters the descriptor, then closes it.
pub struct Async<T: AsFd> {
    source: Arc<Source>,
    driver: Arc<Driver>,
    io: Option<T>,
}

impl<T: AsFd> Async<T> {
    /// Registers `io`, in non-blocking mode from now on.
    ///
    /// # Errors
    ///
    /// The system's, if the descriptor cannot be made non-blocking or
    /// added to the event queue (a descriptor already closed: `EBADF`).
    pub fn new(io: T) -> io::Result<Self> {
        let fd = io.as_fd().as_raw_fd();
        set_nonblocking(fd)?;
        let driver = crate::time::current_driver();
        let source = driver.register(fd)?;
        Ok(Self {
            source,
            driver,
            io: Some(io),
        })
    }

    /// The I/O object.
    pub fn get_ref(&self) -> &T {
        self.io.as_ref().expect("present until drop")
    }

    /// Deregisters and gives the I/O object back (still non-blocking).
    pub fn into_inner(mut self) -> T {
        self.driver.deregister(&self.source);
        self.io.take().expect("present until drop")
    }

    /// Waits until the driver reports the descriptor readable (perhaps
    /// spuriously: a read may still say `WouldBlock`).
    pub async fn readable(&self) -> io::Result<()> {
        Ready(self, Direction::Read).await
    }

    /// Waits until the driver reports the descriptor writable.
    pub async fn writable(&self) -> io::Result<()> {
        Ready(self, Direction::Write).await
    }

    /// Runs `op` until it does not fail with `WouldBlock`, waiting for
    /// readability in between.
    pub async fn read_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        core::future::poll_fn(|cx| self.poll_op(Direction::Read, cx, &mut op)).await
    }

    /// Runs `op` until it does not fail with `WouldBlock`, waiting for
    /// writability in between.
    pub async fn write_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        core::future::poll_fn(|cx| self.poll_op(Direction::Write, cx, &mut op)).await
    }

    fn poll_ready(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.source.poll_ready(&self.driver, dir, cx)
    }

    /// Runs `op` until it does not fail with `WouldBlock`; pending until an
    /// event if it does (see `driver/source.rs` for the tick).
    fn poll_op<R>(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        op: &mut impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let tick = self.source.tick(dir);
            match op(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                r => return Poll::Ready(r),
            }
            match self.source.poll_blocked(&self.driver, dir, tick, cx) {
                Poll::Ready(Ok(())) => continue,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<T: AsFd + core::fmt::Debug> core::fmt::Debug for Async<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Async").field("io", &self.io).finish()
    }
}

impl<T: AsFd> Drop for Async<T> {
    fn drop(&mut self) {
        if self.io.is_some() {
            // Before `io` (dropped after this) closes the descriptor.
            self.driver.deregister(&self.source);
        }
    }
}

/// The future of `readable`/`writable`.
struct Ready<'a, T: AsFd>(&'a Async<T>, Direction);

impl<T: AsFd> Future for Ready<'_, T> {
    type Output = io::Result<()>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_ready(self.1, cx)
    }
}

/// A listening socket on `addr` (see `Async::<TcpListener>::bind`).
fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

fn set_nonblocking(fd: std::os::fd::RawFd) -> io::Result<()> {
    // SAFETY: `fcntl` on a descriptor the caller owns; an invalid one
    // fails with EBADF.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl<T: AsFd> futures_io::AsyncRead for Async<T>
where
    for<'a> &'a T: Read,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_op(Direction::Read, cx, &mut |mut io: &T| io.read(buf))
    }
}

impl<T: AsFd> futures_io::AsyncWrite for Async<T>
where
    for<'a> &'a T: Write,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_op(Direction::Write, cx, &mut |mut io: &T| io.write(buf))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.get_ref().flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl Async<TcpListener> {
    /// Binds a listener to `addr` (the first address that binds), with
    /// `SO_REUSEADDR` and a backlog of 1024 pending connections (std's
    /// `TcpListener::bind` allows 128, which a burst of clients overflows,
    /// and each refused attempt is retried by its client a second later).
    ///
    /// # Errors
    ///
    /// The system's: the address in use, no permission, none resolved.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<Self> {
        let mut last = None;
        for addr in addr.to_socket_addrs()? {
            match listen(addr) {
                Ok(l) => return Self::new(l),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no address to bind to")
        }))
    }

    /// Waits for the next connection.
    pub async fn accept(&self) -> io::Result<(Async<TcpStream>, SocketAddr)> {
        let (stream, peer) = self.read_with(|l| l.accept()).await?;
        Ok((Async::new(stream)?, peer))
    }
}

impl Async<TcpStream> {
    /// Connects to `addr` without blocking: the connection is started,
    /// then awaited.
    ///
    /// # Errors
    ///
    /// The system's (connection refused, unreachable).
    pub async fn connect(addr: impl Into<SocketAddr>) -> io::Result<Self> {
        let addr = addr.into();
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            Some(socket2::Protocol::TCP),
        )?;
        socket.set_nonblocking(true)?;
        match socket.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(e),
        }
        let stream = Async::new(TcpStream::from(socket))?;
        stream.writable().await?;
        match stream.get_ref().take_error()? {
            Some(e) => Err(e),
            None => Ok(stream),
        }
    }
}
