# A network video recorder whose logins are all guarded, each by a default credential:
# OpenSSH that only offers keyboard-interactive logins (PAM asks for the password; pam_unix's
# fail delay applies), GStreamer's RTSP server with Digest and with Basic authentication, and
# mosquitto with a password file and anonymous clients refused.
. "$LAB/common.sh"

account admin admin 1000

# ssh: keyboard-interactive only, through PAM (Debian's /etc/pam.d/sshd, pam_unix)
ssh-keygen -q -t ed25519 -N '' -f "$DIR/ssh_host_ed25519_key"
cat >"$DIR/sshd_config" <<CONF
ListenAddress $IP
Port 22
HostKey $DIR/ssh_host_ed25519_key
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication yes
UsePAM yes
PidFile $DIR/sshd.pid
CONF
start /usr/sbin/sshd -D -e -f "$DIR/sshd_config"

# rtsp: Digest with a vendor default (Mobotix admin/meinsm) on 554, and a second stream behind
# Basic with another vendor default (Zyxel admin/1234) on 8554
rtsp 554 live digest admin meinsm
rtsp 8554 live basic admin 1234

# mqtt: a password file holding a vendor default; anonymous clients refused
mosquitto_passwd -c -b "$DIR/mosquitto.passwd" admin admin123 >/dev/null 2>&1
chmod 644 "$DIR/mosquitto.passwd"
cat >"$DIR/mosquitto.conf" <<CONF
listener 1883 $IP
allow_anonymous false
password_file $DIR/mosquitto.passwd
persistence false
CONF
start /usr/sbin/mosquitto -c "$DIR/mosquitto.conf"

wait_port tcp 22
wait_port tcp 554
wait_port tcp 8554
wait_port tcp 1883
