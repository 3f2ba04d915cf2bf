//! After a crowd leaves, the server empties SQLite's page caches together with its malloc trim
//! (`server::memory`): `store::release_page_caches` must actually free them, which needs SQLite
//! built with its memory management; a build without it would free nothing and keep the crowd's
//! pages for good.

use parley::server::store::release_page_caches;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use std::str::FromStr;

#[tokio::test]
async fn cached_pages_are_freed_and_the_data_stays() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cache.db").display());
    let options = SqliteConnectOptions::from_str(&url)
        .unwrap()
        .create_if_missing(true);
    let pool = SqlitePool::connect_with(options).await.unwrap();
    sqlx::query("create table note (id integer primary key, body text not null)")
        .execute(&pool)
        .await
        .unwrap();
    // About 2 MiB of rows, all read back: the connection caches their pages.
    sqlx::query(
        "with recursive n(i) as (select 1 union all select i + 1 from n where i < 2000)
         insert into note (body) select printf('%.1000c', 'x') from n",
    )
    .execute(&pool)
    .await
    .unwrap();
    let read = || async {
        sqlx::query_scalar::<_, i64>("select sum(length(body)) from note")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert_eq!(read().await, 2_000_000);

    let freed = release_page_caches();
    assert!(
        freed >= 1024 * 1024,
        "SQLite freed {freed} bytes of a connection's cached pages, expected at least the 1 MiB read"
    );
    assert_eq!(
        read().await,
        2_000_000,
        "the rows are still there after the caches went"
    );
    pool.close().await;
}
