"""EC2/EBS: volumes and snapshots that take time, and snapshot copies that look like AWS's."""

from __future__ import annotations

from moto.ec2.models import elastic_block_store as ebs

# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopySnapshot.html: "Snapshots created by
# copying another snapshot have an arbitrary volume ID that should not be used for any purpose."
COPY_VOLUME_ID = "vol-ffffffff"


def install(strict) -> None:
    config, life, patch = strict.config, strict.lifecycle, strict.patcher

    # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Volume.html: State creating | available | ...
    volume_status = patch.current(ebs.Volume, "status")
    patch.set(ebs.Volume, "status", property(lambda self: "creating" if life.busy(self) else volume_status.fget(self)))

    # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Snapshot.html: State pending | completed | ...
    def snapshot_status(self):
        value = self.__dict__.get("_strict_status", "completed")
        return "pending" if value == "completed" and life.busy(self) else value

    def set_snapshot_status(self, value):
        self.__dict__["_strict_status"] = value

    patch.set(ebs.Snapshot, "status", property(snapshot_status, set_snapshot_status))
    patch.set(ebs.Snapshot, "progress", property(lambda self: "0%" if life.busy(self) else "100%"))
    patch.set(
        ebs.Snapshot, "volume_id", property(lambda self: self.__dict__.get("_strict_volume_id") or self.volume.id)
    )

    def make_filter(original):
        def get_filter_value(self, filter_name, method_name=None):
            if filter_name == "volume-id":
                return self.volume_id
            return original(self, filter_name, method_name)

        return get_filter_value

    patch.wrap(ebs.Snapshot, "get_filter_value", make_filter)

    def make_create_volume(original):
        def create_volume(self, *args, **kwargs):
            volume = original(self, *args, **kwargs)
            life.start(volume, config.restore_seconds if volume.snapshot_id else config.create_seconds)
            return volume

        return create_volume

    patch.wrap(ebs.EBSBackend, "create_volume", make_create_volume)

    def make_create_snapshot(original):
        def create_snapshot(self, *args, **kwargs):
            snapshot = original(self, *args, **kwargs)
            life.start(snapshot, config.create_seconds)
            return snapshot

        return create_snapshot

    patch.wrap(ebs.EBSBackend, "create_snapshot", make_create_snapshot)

    def make_copy(original):
        def copy_snapshot(self, source_snapshot_id, source_region, description, kms_key_id):
            snapshot = original(self, source_snapshot_id, source_region, description, kms_key_id)
            snapshot.__dict__["_strict_volume_id"] = COPY_VOLUME_ID
            if not description:
                # What AWS writes when CopySnapshot is given no Description.
                snapshot.description = f"[Copied {source_snapshot_id} from {source_region}]"
            life.start(snapshot, config.copy_seconds)
            return snapshot

        return copy_snapshot

    patch.wrap(ebs.EBSBackend, "copy_snapshot", make_copy)
