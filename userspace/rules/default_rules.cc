// The built-in rule pack and exclusions: what `permsentry run` alerts on with
// no configuration at all. Written in the same YAML users write, and loaded by
// the same parser, so the pack is also the reference example of the format.
#include "rules/rules.h"

namespace permsentry {

absl::string_view DefaultRulesYaml() {
  return R"yaml(rules:
  - id: setid-bit-added
    name: setuid or setgid bit added
    description: >-
      A chmod gave a file a setuid or setgid bit: whoever runs it gets its
      owner's (or group's) privileges.
    severity: high
    match:
      action: chmod
      mode_added: [setuid, setgid]
    except:
      - file_type: dir  # setgid on a directory only sets the group of new files
    message: "{rule.name}: {file.path} {file.mode_before} → {file.mode} by {actor}{ai.tag}: {access_delta}"

  - id: world-writable
    name: world-writable without the sticky bit
    description: >-
      Anyone on the host can now write the file, or add, remove and replace
      anything in the directory. An access ACL whose other entry gives write
      (setfacl -m o::rwx) is the same change.
    severity: medium
    match:
      action: [chmod, setxattr]
      mode_added: world_writable
      mode_lacks: sticky
    message: "{rule.name}: {file.path} {file.mode_before} → {file.mode} by {actor}{ai.tag}: {access_delta}"

  - id: setid-file-created
    name: file created setuid or setgid
    description: >-
      A file was created with a setuid or setgid bit (open or creat with
      O_CREAT, mknod): the same backdoor as a chmod, made in one call.
    severity: high
    match:
      action: create
      mode_has: [setuid, setgid]
    message: "{rule.name}: {file.path} {file.mode} by {actor}{ai.tag}: {access_delta}"

  - id: world-writable-created
    name: created world-writable without the sticky bit
    severity: medium
    match:
      action: [create, mkdir]
      mode_has: world_writable
      mode_lacks: sticky
    message: "{rule.name}: {file.path} {file.mode} by {actor}{ai.tag}: {access_delta}"

  - id: device-node-outside-dev
    name: device node created outside /dev
    description: >-
      A block or character device node gives whoever can open it the device
      itself (a disk, memory): outside /dev it escapes the permissions udev
      manages.
    severity: high
    match:
      action: mknod
    except:
      - path: [/dev/**]
    message: "{rule.name}: {file.path} by {actor}{ai.tag}: {access_delta}"

  - id: open-mode-system-path
    name: chmod 777 or 666 on a system path or a home dotfile
    severity: high
    match:
      action: [chmod, setxattr]
      mode_is: ["0777", "0666"]
      path: [/etc/**, /usr/**, /bin/**, /sbin/**, /lib/**, /lib64/**, /boot/**,
             "/home/*/.*", "/home/*/.*/**", "/root/.*", "/root/.*/**"]
    message: "{rule.name}: {file.path} {file.mode_before} → {file.mode} by {actor}{ai.tag}: {access_delta}"

  - id: owner-root-user-writable
    name: owner changed to root on a user-writable file
    description: >-
      The file now belongs to root but others can still write it, or it lies
      where users can replace it: what root runs or trusts from it is theirs.
    severity: medium
    match:
      - action: chown
        owner_to: 0
        mode_has: [group_writable, world_writable]
      - action: chown
        owner_to: 0
        path: [/home/**, /tmp/**, /var/tmp/**, /dev/shm/**]
    message: "{rule.name}: {file.path} owner {file.owner_before} → {file.owner} by {actor}{ai.tag}: {access_delta}"

  - id: credfile-acl-grant
    name: ACL grant on a credential file
    severity: high
    match:
      action: setxattr
      watched: true
      acl_grants: [others, non_owner_user, named_group]
    message: "{rule.name}: {file.path} ({watch.class}) by {actor}{ai.tag}: {access_delta}"

  - id: file-capabilities-set
    name: file capabilities set
    description: >-
      The executable now runs with capabilities, whoever starts it.
    severity: high
    match:
      action: setxattr
      file_caps: any
    message: "{rule.name}: {file.path} gets {file_caps} by {actor}{ai.tag}: {access_delta}"

  - id: credfile-changed
    name: credential file changed
    severity: medium
    match:
      watched: true
    message: "{rule.name} ({watch.class}): {summary}"

  - id: authorized-keys-changed
    name: authorized_keys changed
    description: >-
      Whoever holds a key listed there can log in as that user.
    severity: high
    match:
      watch_class: authorized_keys
    message: "{rule.name}: {summary}"

  - id: sudoers-changed
    name: sudoers changed
    severity: high
    match:
      watch_class: sudoers
    message: "{rule.name}: {summary}"

  - id: mount-covers-watched
    name: a mount on or above a watched file
    description: >-
      A bind mount over /etc/shadow or a tmpfs over /etc/sudoers.d changes
      what everyone reading that path gets, without writing the file: the
      same as replacing it. Unmounting one brings back what it hid.
    severity: high
    match:
      action: [mount, umount]
      covers_watched: true
    message: "{rule.name}: {summary}"

  - id: path-changed-during-call
    name: a path rewritten while the kernel used it
    description: >-
      Another thread changed the path argument between the call's start and
      its end: the path named in the event may be a decoy, not the file the
      kernel changed (tracepoint backend; the object's identity, where known,
      is the kernel's).
    severity: high
    match:
      path_changed: true
    message: "{rule.name}: {summary}"

  - id: root-code-path-changed
    name: a file that makes root run code changed
    description: >-
      What is written to ld.so.preload or the library path is loaded into
      every program; a systemd unit or a cron entry is run as root at the next
      boot, start or minute.
    severity: high
    match:
      watch_class: [ld_preload, ld_so_conf, systemd_unit, cron]
    message: "{rule.name} ({watch.class}): {summary}"

  - id: privileged-group-gained
    name: a process took a privileged group
    description: >-
      A process that was not root made group 0, or a group that reads the
      password hashes or the disks (shadow, disk), administers the host (sudo,
      adm) or its containers (docker), its real, effective or filesystem
      group. (A set-group-id binary's own group is reported as exec_setid.)
    severity: high
    match:
      gid_to: [0, shadow, sudo, disk, docker, adm]
    message: "{rule.name}: {actor}{ai.tag}: {access_delta}"

  - id: process-gained-root
    name: a process gained uid 0 or CAP_SYS_ADMIN
    severity: high
    match:
      - creds_to_root: true
      - caps_gained: CAP_SYS_ADMIN
    except:
      # The usual ways people become root, outside AI sessions. The same
      # tools run in or beside an AI session are not excepted.
      - attribution: none
        process_executable: [/usr/bin/sudo, /usr/bin/su, /bin/su, /usr/bin/login, /bin/login,
                             /usr/bin/pkexec, /usr/bin/doas, /usr/sbin/sshd]
    message: "{rule.name}: {actor}{ai.tag}: {access_delta}"
)yaml";
}

absl::string_view DefaultExclusionsYaml() {
  return R"yaml(exclude:
  # Package managers and everything they run (maintainer scripts set setuid
  # bits, add users and write sudoers.d files as a matter of course). Matched
  # by executable path, which only root can put there.
  - ancestor_executable: [/usr/bin/dpkg, /usr/bin/apt, /usr/bin/apt-get, /usr/bin/aptitude,
                          /usr/bin/rpm, /usr/bin/dnf, /usr/bin/yum, /usr/bin/zypper]
)yaml";
}

}  // namespace permsentry
