# An insecure home router: dropbear SSH with a Mirai credential, HTTP Digest with a vendor
# default on 8080, and an HTML form login on 81.
. "$LAB/common.sh"

account support support 1000
# ssh: dropbear, password logins allowed
dropbearkey -t ed25519 -f "$DIR/dropbear_ed25519" >/dev/null 2>&1
start /usr/sbin/dropbear -F -E -p "$IP:22" -r "$DIR/dropbear_ed25519"

# http: digest admin/password on 8080, form login admin/1234 on 81
mkdir -p "$DIR/www" "$DIR/form/cgi-bin"
echo "<html><title>Router</title>status</html>" >"$DIR/www/index.html"
printf 'admin:router:%s\n' "$(printf 'admin:router:password' | md5sum | cut -d' ' -f1)" >"$DIR/htdigest"
cat >"$DIR/form/index.html" <<'HTML'
<html><head><title>Router Login</title></head><body>
<form action="/cgi-bin/login.cgi" method="post">
<input type="hidden" name="lang" value="en">
User <input type="text" name="username"> Password <input type="password" name="password">
<input type="submit" value="Login">
</form></body></html>
HTML
cat >"$DIR/form/cgi-bin/login.cgi" <<'CGI'
#!/bin/sh
body=$(head -c "${CONTENT_LENGTH:-0}")
case "$body" in
*username=admin\&password=1234\&*|*username=admin\&password=1234)
    printf 'Status: 302 Found\r\nLocation: /status.html\r\nSet-Cookie: session=lab\r\n\r\n' ;;
*)
    printf 'Content-Type: text/html\r\n\r\n<html><title>Router Login</title><p>Invalid user name or password</p><form action="/cgi-bin/login.cgi" method="post"><input type="text" name="username"><input type="password" name="password"></form></html>' ;;
esac
CGI
# the page a successful login redirects to (clients that follow the redirect, such as hydra's
# http-post-form, judge the login by it)
echo "<html><title>Router Status</title>WAN connected</html>" >"$DIR/form/status.html"
chmod 755 "$DIR/form/cgi-bin/login.cgi"
chmod 644 "$DIR/htdigest"
cat >"$DIR/lighttpd.conf" <<CONF
server.modules = ("mod_auth", "mod_authn_file", "mod_cgi")
server.document-root = "$DIR/www"
server.bind = "$IP"
server.port = 8080
server.username = "www-data"
server.groupname = "www-data"
index-file.names = ("index.html")
mimetype.assign = (".html" => "text/html")
\$SERVER["socket"] == "$IP:8080" {
    auth.backend = "htdigest"
    auth.backend.htdigest.userfile = "$DIR/htdigest"
    auth.require = ("/" => ("method" => "digest", "realm" => "router", "require" => "valid-user"))
}
\$SERVER["socket"] == "$IP:81" {
    server.document-root = "$DIR/form"
    cgi.assign = (".cgi" => "")
}
CONF
start /usr/sbin/lighttpd -D -f "$DIR/lighttpd.conf"

wait_port tcp 22
wait_port tcp 8080
wait_port tcp 81
