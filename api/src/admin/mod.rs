//! The admin API (`/admin/v1`, scope `admin`, API.md §5): configuration resources and
//! operations. Errors are `{"error_code", "description"}` with the snake_case codes of
//! `tessera_config::admin::codes`.

pub(crate) mod ops;
