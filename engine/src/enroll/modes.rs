//! Push enrollment modes (seed, API.md §4): how a new push enrollment treats the user's other
//! devices of the same application. Different applications never conflict.

use tessera_config::PushEnrollmentMode;

use crate::model::Device;

/// `single_device`: another device already holds the push enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlreadyEnrolled;

/// Whether `other` holds the push enrollment `device` would compete with: same user's device
/// (callers pass only those), same application, another device, a push token.
pub fn is_push_rival(device: &Device, other: &Device) -> bool {
    other.id != device.id && other.app_id == device.app_id && other.push_token.is_some()
}

/// The devices whose enrollment (and keys) must be dropped for `device` to enroll for push.
pub fn push_enrollment(
    mode: PushEnrollmentMode,
    device: &Device,
    user_devices: &[Device],
) -> Result<Vec<String>, AlreadyEnrolled> {
    let rivals: Vec<String> = user_devices
        .iter()
        .filter(|d| is_push_rival(device, d))
        .map(|d| d.id.clone())
        .collect();
    match mode {
        PushEnrollmentMode::MultipleDevices => Ok(Vec::new()),
        PushEnrollmentMode::OverrideAllowed => Ok(rivals),
        PushEnrollmentMode::SingleDevice if rivals.is_empty() => Ok(Vec::new()),
        PushEnrollmentMode::SingleDevice => Err(AlreadyEnrolled),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enroll::test_device;

    fn devices() -> (Device, Vec<Device>) {
        let me = test_device();
        let mut other = test_device();
        other.id = "B".repeat(64);
        other.push_token = Some("tok-b".into());
        let mut other_app = test_device();
        other_app.id = "C".repeat(64);
        other_app.app_id = "other".into();
        other_app.push_token = Some("tok-c".into());
        (me.clone(), vec![me, other, other_app])
    }

    #[test]
    fn single_device_refuses_a_second_device_of_the_same_app() {
        let (me, all) = devices();
        assert_eq!(
            push_enrollment(PushEnrollmentMode::SingleDevice, &me, &all),
            Err(AlreadyEnrolled)
        );
        let only_other_app: Vec<Device> = all
            .into_iter()
            .filter(|d| d.app_id != "acme" || d.id == me.id)
            .collect();
        assert_eq!(
            push_enrollment(PushEnrollmentMode::SingleDevice, &me, &only_other_app),
            Ok(vec![])
        );
    }

    #[test]
    fn override_drops_the_other_device_of_the_same_app() {
        let (me, all) = devices();
        assert_eq!(
            push_enrollment(PushEnrollmentMode::OverrideAllowed, &me, &all),
            Ok(vec!["B".repeat(64)])
        );
    }

    #[test]
    fn multiple_devices_coexist() {
        let (me, all) = devices();
        assert_eq!(
            push_enrollment(PushEnrollmentMode::MultipleDevices, &me, &all),
            Ok(vec![])
        );
    }

    #[test]
    fn re_enrolling_the_same_device_is_not_a_conflict() {
        let (mut me, _) = devices();
        me.push_token = Some("old".into());
        assert_eq!(
            push_enrollment(PushEnrollmentMode::SingleDevice, &me, &[me.clone()]),
            Ok(vec![])
        );
    }
}
