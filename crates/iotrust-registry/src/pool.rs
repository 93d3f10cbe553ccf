//! A small blocking connection pool: at most `max` connections, opened on demand, handed out
//! one caller at a time; a connection that reports itself broken is dropped, not reused.

use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex};

use crate::store::{Result, StoreError};

type Open<C> = Box<dyn Fn() -> Result<C> + Send + Sync>;

pub(crate) struct Pool<C> {
    state: Mutex<State<C>>,
    freed: Condvar,
    max: usize,
    open: Open<C>,
    broken: fn(&C) -> bool,
}

struct State<C> {
    idle: Vec<C>,
    /// Connections in existence (idle or lent).
    live: usize,
}

pub(crate) struct Lease<'p, C> {
    pool: &'p Pool<C>,
    conn: Option<C>,
}

impl<C> Pool<C> {
    pub(crate) fn new(max: usize, open: Open<C>, broken: fn(&C) -> bool) -> Pool<C> {
        Pool {
            state: Mutex::new(State {
                idle: Vec::new(),
                live: 0,
            }),
            freed: Condvar::new(),
            max: max.max(1),
            open,
            broken,
        }
    }

    pub(crate) fn get(&self) -> Result<Lease<'_, C>> {
        let poisoned = |_| StoreError("connection pool lock poisoned".into());
        let mut st = self.state.lock().map_err(poisoned)?;
        loop {
            if let Some(c) = st.idle.pop() {
                return Ok(Lease {
                    pool: self,
                    conn: Some(c),
                });
            }
            if st.live < self.max {
                st.live += 1;
                drop(st);
                return match (self.open)() {
                    Ok(c) => Ok(Lease {
                        pool: self,
                        conn: Some(c),
                    }),
                    Err(e) => {
                        if let Ok(mut st) = self.state.lock() {
                            st.live -= 1;
                        }
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            st = self.freed.wait(st).map_err(poisoned)?;
        }
    }
}

impl<C: Send + 'static> Pool<C> {
    /// Close the idle connections on a thread of their own: a client that blocks on its own
    /// runtime when closed must not be dropped on an async worker thread.
    pub(crate) fn close_idle_off_thread(&self) {
        let idle = match self.state.lock() {
            Ok(mut st) => {
                st.live -= st.idle.len();
                std::mem::take(&mut st.idle)
            }
            Err(_) => return,
        };
        if !idle.is_empty() {
            let _ = std::thread::spawn(move || drop(idle)).join();
        }
    }
}

impl<C> Deref for Lease<'_, C> {
    type Target = C;
    fn deref(&self) -> &C {
        // the connection is only taken out in `drop`
        self.conn.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl<C> DerefMut for Lease<'_, C> {
    fn deref_mut(&mut self) -> &mut C {
        self.conn.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl<C> Drop for Lease<'_, C> {
    fn drop(&mut self) {
        let Some(c) = self.conn.take() else { return };
        let broken = (self.pool.broken)(&c);
        if let Ok(mut st) = self.pool.state.lock() {
            if broken {
                st.live -= 1;
            } else {
                st.idle.push(c);
            }
        }
        self.pool.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn never_more_than_max_and_broken_ones_are_replaced() {
        let opened = Arc::new(AtomicUsize::new(0));
        let o = opened.clone();
        let pool: Pool<(usize, bool)> = Pool::new(
            2,
            Box::new(move || Ok((o.fetch_add(1, Ordering::SeqCst), false))),
            |c| c.1,
        );
        let a = pool.get().unwrap_or_else(|_| unreachable!());
        let mut b = pool.get().unwrap_or_else(|_| unreachable!());
        assert_eq!(opened.load(Ordering::SeqCst), 2);
        std::thread::scope(|s| {
            let h = s.spawn(|| pool.get().map(|c| c.0).ok());
            b.1 = true; // b breaks: dropping it frees a slot, so a third is opened
            drop(b);
            assert_eq!(h.join().ok().flatten(), Some(2));
        });
        drop(a);
        assert_eq!(opened.load(Ordering::SeqCst), 3);
    }
}
