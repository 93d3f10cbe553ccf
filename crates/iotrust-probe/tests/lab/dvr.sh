# A recorder whose telnet logins all have strong passwords: BusyBox login on 23 and on 8000
# (a port where HTTP is expected: telnet is found by protocol, whatever the port), and the
# distribution's PAM login (3 s fail delay) on 2323. Telnet itself is a finding; a
# default-credential finding here would be a false positive (what hydra reports on BusyBox).
# Its web page on 80 is the recorder's settings, served to anyone (no login at all).
. "$LAB/common.sh"

account operator 'Vq7#pLx2!eRz9' 1000
account viewer 'k9!Rt2#mWq4z' 1001

ln -sf /bin/busybox "$DIR/bin/login"
start /bin/busybox telnetd -F -p 23 -b "$IP" -l "$DIR/bin/login"
start /bin/busybox telnetd -F -p 2323 -b "$IP" -l /bin/login
start /bin/busybox telnetd -F -p 8000 -b "$IP" -l "$DIR/bin/login"

mkdir -p "$DIR/www"
cat >"$DIR/www/index.html" <<'HTML'
<html><head><title>DVR settings</title></head><body>
<h1>Recorder settings</h1>
<form action="/cgi-bin/apply" method="post">
Primary DNS <input name="dns1" value="192.168.1.1">
NTP server <input name="ntp" value="pool.ntp.org">
Record schedule <select name="schedule"><option>always</option></select>
<input type="submit" value="Save settings">
</form>
<form action="/cgi-bin/reboot" method="post"><input type="submit" value="Reboot"></form>
</body></html>
HTML
cat >"$DIR/lighttpd.conf" <<CONF
server.document-root = "$DIR/www"
server.bind = "$IP"
server.port = 80
server.username = "www-data"
server.groupname = "www-data"
index-file.names = ("index.html")
mimetype.assign = (".html" => "text/html")
CONF
start /usr/sbin/lighttpd -D -f "$DIR/lighttpd.conf"

wait_port tcp 23
wait_port tcp 2323
wait_port tcp 8000
wait_port tcp 80
