//! Key names. Each starts with `store.key_prefix` and holds one hash tag (`{...}`), so each Lua
//! script touches one Redis Cluster slot:
//!
//! | key | type | slot |
//! |---|---|---|
//! | `<p>{t:<txn>}` | hash `v` version, `d` JSON; `PEXPIREAT` purge time | the transaction |
//! | `<p>{u:<user>}:dev:<device>` | hash `v`, `d` JSON, `a` app id, `t` push token | the user |
//! | `<p>{u:<user>}:devs` | set of the user's device ids | the user |
//! | `<p>{d:<device>}` | the device's user id (so a device is found by its id alone) | the device |
//! | `<p>{d:<device>}:txns` | sorted set: pending transaction ids by deadline | the device |
//! | `<p>{c:<sha256>}` | enrollment code JSON, `PXAT` its expiry | the code |
//! | `<p>{k:<id>}` | armored server key | the key |
//! | `<p>{pending}` | sorted set: held transaction ids (pending, or a callback due) by purge time | global |
//! | `<p>{nodes}`, `<p>{nodes}:lease:<node>` | set of registered nodes; each one's lease (`PX`) | global |
//! | `<p>{tok}:<token>` | the device id holding a push token | global |
//! | `<p>{ev}`, `<p>{dl}`, `<p>{dl}:ids` | events list; dead letters by id and newest-first ids | global |
//!
//! The pub/sub channel `<p>changes` carries `"<id> <version>"` for each transaction write.
//!
//! Standalone Redis runs the scripts that touch a global index together with their own slot's
//! keys (the pending set with a transaction write, the token index with a device write); Redis
//! Cluster will need those two split per slot, which these names leave room for.

use crate::model::TxnId;

#[derive(Debug, Clone)]
pub(super) struct Keys {
    prefix: String,
}

impl Keys {
    pub(super) fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    pub(super) fn txn(&self, id: TxnId) -> String {
        format!("{}{{t:{id}}}", self.prefix)
    }

    pub(super) fn pending(&self) -> String {
        format!("{}{{pending}}", self.prefix)
    }

    /// The registry of live nodes (a set); each node's lease is `nodes_lease(node)`, same slot.
    pub(super) fn nodes(&self) -> String {
        format!("{}{{nodes}}", self.prefix)
    }

    /// What a node's lease key starts with (the node id follows).
    pub(super) fn lease_prefix(&self) -> String {
        format!("{}{{nodes}}:lease:", self.prefix)
    }

    pub(super) fn device(&self, user_id: &str, device_id: &str) -> String {
        format!("{}{{u:{user_id}}}:dev:{device_id}", self.prefix)
    }

    pub(super) fn user_devices(&self, user_id: &str) -> String {
        format!("{}{{u:{user_id}}}:devs", self.prefix)
    }

    pub(super) fn device_owner(&self, device_id: &str) -> String {
        format!("{}{{d:{device_id}}}", self.prefix)
    }

    pub(super) fn device_txns(&self, device_id: &str) -> String {
        format!("{}{{d:{device_id}}}:txns", self.prefix)
    }

    /// The push-token index entry, or `""` for no token (scripts skip empty key names).
    pub(super) fn token(&self, token: Option<&str>) -> String {
        token.map_or_else(String::new, |t| self.token_prefix() + t)
    }

    /// What the device script puts before an old token to drop its index entry.
    pub(super) fn token_prefix(&self) -> String {
        format!("{}{{tok}}:", self.prefix)
    }

    /// The pub/sub channel of transaction writes (not a key: channels have no slot).
    pub(super) fn changes(&self) -> String {
        format!("{}changes", self.prefix)
    }

    pub(super) fn code(&self, sha256: &str) -> String {
        format!("{}{{c:{sha256}}}", self.prefix)
    }

    pub(super) fn server_key(&self, id: &str) -> String {
        format!("{}{{k:{id}}}", self.prefix)
    }

    pub(super) fn events(&self) -> String {
        format!("{}{{ev}}", self.prefix)
    }

    pub(super) fn dead_letters(&self) -> String {
        format!("{}{{dl}}", self.prefix)
    }

    pub(super) fn dead_letter_ids(&self) -> String {
        format!("{}{{dl}}:ids", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slot is decided by the first `{...}`: one per transaction, one per user.
    #[test]
    fn keys_carry_one_hash_tag_after_the_prefix() {
        let k = Keys::new("tessera:");
        let id = TxnId::random();
        assert_eq!(k.txn(id), format!("tessera:{{t:{id}}}"));
        assert_eq!(k.device("alice", "D1"), "tessera:{u:alice}:dev:D1");
        assert_eq!(k.user_devices("alice"), "tessera:{u:alice}:devs");
        assert_eq!(k.device_txns("D1"), "tessera:{d:D1}:txns");
        assert_eq!(k.token(Some("tok")), "tessera:{tok}:tok");
        assert_eq!(k.token(None), "");
    }
}
