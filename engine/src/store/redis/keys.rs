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
//! | `<p>{pending}:recent` | sorted set: transaction ids by creation time (admin list), same slot as the pending set | global |
//! | `<p>{stats}`, `<p>{stats}:n:<node>` | set of nodes that published stats; each one's snapshot (`PX`) | global |
//! | `<p>{nodes}`, `<p>{nodes}:lease:<node>` | set of registered nodes; each one's lease (`PX`) | global |
//! | `<p>{tok:<token>}` | the device id holding a push token (`PX` while a write claims it) | the token |
//! | `<p>{ev}`, `<p>{dl}`, `<p>{dl}:ids` | events list; dead letters by id and newest-first ids | global |
//! | `<p>{cfg}` | hash `v` version, `d` the admin API's configuration document | global |
//! | `<p>{rl:<limit>:<hex>}` | a rate-limit bucket's arrival time (epoch µs), `PXAT` that time | the bucket |
//! | `<p>{mute:<hex>}` | a fraud mute's end (epoch ms), `PXAT` that time | the mute |
//!
//! The pub/sub channel `<p>changes` carries `"<id> <version>"` for each transaction write.
//!
//! Every Lua script touches keys of one slot, so the same scripts run on Redis Cluster: the
//! pending set and the token index are written by commands of their own next to the record's
//! script ([`super::txns`], [`super::devices`]).
//!
//! Free text inside a hash tag (user ids, device ids, tokens, key ids, code hashes) is escaped
//! ([`tag`]): a `{` or `}` in a user id cannot end the tag early and move the key to another
//! slot, and two different ids never give the same key.

use std::borrow::Cow;

use crate::model::TxnId;

/// `text` as it may stand inside a hash tag: `%`, `{` and `}` percent-escaped. Injective (`%` is
/// escaped too), so distinct ids stay distinct keys.
pub(super) fn tag(text: &str) -> Cow<'_, str> {
    if !text.contains(['%', '{', '}']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '{' => out.push_str("%7B"),
            '}' => out.push_str("%7D"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

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

    /// Recent transaction ids by creation time. In the pending set's slot, so a cluster
    /// writes both in one pipeline.
    pub(super) fn recent(&self) -> String {
        format!("{}{{pending}}:recent", self.prefix)
    }

    /// The set of nodes that published stats.
    pub(super) fn stats(&self) -> String {
        format!("{}{{stats}}", self.prefix)
    }

    /// What a node's stats key starts with (the node name follows); same slot as `stats()`.
    pub(super) fn stats_prefix(&self) -> String {
        format!("{}{{stats}}:n:", self.prefix)
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
        format!("{}{{u:{}}}:dev:{device_id}", self.prefix, tag(user_id))
    }

    pub(super) fn user_devices(&self, user_id: &str) -> String {
        format!("{}{{u:{}}}:devs", self.prefix, tag(user_id))
    }

    pub(super) fn device_owner(&self, device_id: &str) -> String {
        format!("{}{{d:{}}}", self.prefix, tag(device_id))
    }

    pub(super) fn device_txns(&self, device_id: &str) -> String {
        format!("{}{{d:{}}}:txns", self.prefix, tag(device_id))
    }

    /// The push-token index entry: which device holds `token`.
    pub(super) fn token(&self, token: &str) -> String {
        format!("{}{{tok:{}}}", self.prefix, tag(token))
    }

    /// The pub/sub channel of transaction writes (not a key: channels have no slot).
    pub(super) fn changes(&self) -> String {
        format!("{}changes", self.prefix)
    }

    pub(super) fn code(&self, sha256: &str) -> String {
        format!("{}{{c:{}}}", self.prefix, tag(sha256))
    }

    pub(super) fn server_key(&self, id: &str) -> String {
        format!("{}{{k:{}}}", self.prefix, tag(id))
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

    /// The admin API's configuration document ([`super::config_doc`]).
    pub(super) fn config_doc(&self) -> String {
        format!("{}{{cfg}}", self.prefix)
    }

    /// A rate-limit bucket or fraud mute ([`super::limits`]); `key` is `rl:<limit>:<hex>` or
    /// `mute:<hex>` (no braces).
    pub(super) fn limit(&self, key: &str) -> String {
        format!("{}{{{}}}", self.prefix, tag(key))
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
        assert_eq!(k.token("tok"), "tessera:{tok:tok}");
    }

    /// Braces in an id cannot close the tag early (which would put the key in another slot, one
    /// a user id could choose), and escaping keeps distinct ids distinct.
    #[test]
    fn free_text_in_a_hash_tag_is_escaped() {
        let k = Keys::new("p:");
        assert_eq!(k.user_devices("a}b{c"), "p:{u:a%7Db%7Bc}:devs");
        assert_eq!(k.device("a}x", "D1"), "p:{u:a%7Dx}:dev:D1");
        assert_eq!(k.device_owner("{D}"), "p:{d:%7BD%7D}");
        assert_eq!(k.token("t}"), "p:{tok:t%7D}");
        assert_eq!(k.server_key("%7D"), "p:{k:%257D}");
        assert_ne!(k.server_key("%7D"), k.server_key("}"));
        assert_eq!(k.code("abc"), "p:{c:abc}");
        // Exactly one `{` and one `}` in every key: the tag is the whole braced part.
        for key in [
            k.user_devices("}{}{"),
            k.device_txns("x{y}z"),
            k.token("{}"),
        ] {
            assert_eq!(key.matches('{').count(), 1, "{key}");
            assert_eq!(key.matches('}').count(), 1, "{key}");
        }
    }
}
