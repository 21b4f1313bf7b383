//! The `LISTEN` side of the token cache on PostgreSQL: one dedicated
//! connection per process receives every invalidation committed by any
//! process on the database (this one included) and applies it.
//!
//! The cache serves only while this connection listens. When it drops
//! (PostgreSQL restarted, the network broke), the cache is emptied and
//! bypassed, and the task reconnects every second; once `LISTEN` is back,
//! the cache fills again from the database. Notifications sent while
//! nobody listened are lost, which is why nothing is served meanwhile.

use std::{sync::Arc, time::Duration};

use sqlx::{postgres::PgListener, PgPool};

use super::{wire, TokenCache};

/// Starts the listener task for `cache` on `pool`'s database. It runs
/// until the process ends.
pub(crate) fn spawn(pool: PgPool, cache: Arc<TokenCache>) {
    tokio::spawn(async move {
        let mut announced_down = false;
        while !pool.is_closed() {
            match listen(&pool, &cache).await {
                Ok(()) => announced_down = false,
                Err(e) if !announced_down => {
                    tracing::warn!(
                        error = %e,
                        "token cache off: its LISTEN connection to PostgreSQL failed; lookups go to the database until it is back"
                    );
                    announced_down = true;
                }
                Err(_) => {}
            }
            cache.set_live(false);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

/// Listens until the connection is lost: `Ok` after a connection that
/// worked, `Err` when none could be made.
async fn listen(pool: &PgPool, cache: &TokenCache) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // Otherwise sqlx would reconnect inside `try_recv` before telling us,
    // and the notifications of the gap would be lost while the cache served.
    listener.eager_reconnect(false);
    // One statement: it stays this connection's last, which is how other
    // processes count the listeners (`wire::COUNT_LISTENERS`).
    listener
        .listen_all([wire::CHANNEL, wire::ACK_CHANNEL])
        .await?;
    cache.set_live(true);
    tracing::debug!("token cache on: listening for invalidations");
    loop {
        let notification = match listener.try_recv().await {
            Ok(Some(notification)) => notification,
            // The connection was lost; `try_recv` would reconnect next time.
            Ok(None) => return Ok(()),
            Err(e) => {
                if !pool.is_closed() {
                    tracing::warn!(error = %e, "token cache off: its LISTEN connection failed");
                }
                return Ok(());
            }
        };
        if notification.channel() == wire::ACK_CHANNEL {
            cache.fence_progress(notification.payload(), true);
            continue;
        }
        let (invalidations, fences) = wire::parse(notification.payload());
        cache.invalidate(&invalidations);
        for fence in fences {
            if cache.is_foreign_fence(fence) {
                acknowledge(pool, fence);
            } else {
                cache.fence_progress(fence, false);
            }
        }
    }
}

/// Tells the process that made a change that this one applied it. Sent
/// through the pool: the listener's own connection must keep `LISTEN` as
/// its last statement.
fn acknowledge(pool: &PgPool, fence: &str) {
    let (pool, fence) = (pool.clone(), fence.to_owned());
    tokio::spawn(async move {
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(wire::ACK_CHANNEL)
            .bind(&fence)
            .execute(&pool)
            .await;
        if let Err(e) = sent {
            tracing::debug!(error = %e, "could not acknowledge a token cache invalidation");
        }
    });
}
