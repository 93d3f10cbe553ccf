# A hardened video doorbell: OpenSSH offering only keyboard-interactive logins (through PAM)
# and an RTSP stream behind Digest authentication, both with strong passwords. The probe must
# report no finding here.
. "$LAB/common.sh"

account owner 'Dq5!mZ8#rLw2-Tv' 1000

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

rtsp 8554 live digest owner 'Dq5!mZ8#rLw2-Tv'

wait_port tcp 22
wait_port tcp 8554
