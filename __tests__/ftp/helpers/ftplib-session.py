"""Drive Python's ftplib through one FTP session and print what it saw as JSON.

Used by __tests__/ftp/clients-ftplib.test.ts; the test prepares the files and
checks the results on both sides. Arguments: port, mode (plain | tls), the
CA file the TLS session must verify against, and a local scratch folder.
"""
import hashlib
import io
import json
import os
import ssl
import sys
import ftplib


def sha(data):
    return hashlib.sha256(data).hexdigest()


def main():
    port, mode, ca_file, work = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    seen = {"python": sys.version.split()[0]}
    if mode == "tls":
        context = ssl.create_default_context(cafile=ca_file)
        ftp = ftplib.FTP_TLS(context=context, timeout=10)
    else:
        ftp = ftplib.FTP(timeout=10)
    seen["welcome"] = ftp.connect("127.0.0.1", port)
    # FTP_TLS.login sends AUTH TLS first, then USER/PASS over TLS.
    seen["login"] = ftp.login("tester", "secret")
    if mode == "tls":
        seen["prot"] = ftp.prot_p()

    # Upload, then download it back.
    with open(os.path.join(work, "up.bin"), "rb") as f:
        seen["stor"] = ftp.storbinary("STOR up.bin", f, blocksize=8192)
    got = io.BytesIO()
    seen["retr"] = ftp.retrbinary("RETR up.bin", got.write)
    seen["retr_sha"] = sha(got.getvalue())

    # Download resumed from an offset (REST + RETR).
    tail = io.BytesIO()
    ftp.retrbinary("RETR up.bin", tail.write, rest=100000)
    seen["rest_retr_sha"] = sha(tail.getvalue())

    # Upload resumed: the server holds a prefix; send the rest (REST + STOR).
    ftp.voidcmd("TYPE I")
    have = ftp.size("partial.bin")
    with open(os.path.join(work, "up.bin"), "rb") as f:
        f.seek(have)
        seen["rest_stor"] = ftp.storbinary("STOR partial.bin", f, rest=have)
    seen["partial_had"] = have

    if mode == "plain":
        seen["mlsd"] = {name: facts for name, facts in ftp.mlsd("listing", facts=["type", "size", "modify"])}
        seen["nlst"] = sorted(ftp.nlst("listing"))
        lines = []
        ftp.retrlines("LIST listing", lines.append)
        seen["list"] = lines
        seen["rename"] = [ftp.rename("old.txt", "new.txt")]
        seen["mkd"] = ftp.mkd("made")
        ftp.cwd("made")
        seen["pwd_in_made"] = ftp.pwd()
        ftp.cwd("..")
        seen["rmd"] = ftp.rmd("made")
        seen["delete"] = ftp.delete("doomed.txt")
        # retrlines left the session in TYPE A, where SIZE is refused (as ProFTPD does).
        try:
            ftp.size("up.bin")
            seen["size_in_ascii"] = "allowed"
        except ftplib.error_perm as err:
            seen["size_in_ascii"] = str(err)
        ftp.voidcmd("TYPE I")
        seen["size"] = ftp.size("up.bin")
        seen["mdtm"] = ftp.voidcmd("MDTM up.bin")
        # A refusal is an exception with the reply, and the session goes on.
        try:
            ftp.delete("missing.txt")
            seen["missing"] = "no error"
        except ftplib.error_perm as err:
            seen["missing"] = str(err)
        seen["after_error"] = ftp.pwd()
        # Past 4 GiB: SIZE and REST offsets are 64-bit.
        seen["huge_size"] = ftp.size("huge.bin")
        huge = io.BytesIO()
        ftp.retrbinary("RETR huge.bin", huge.write, rest=seen["huge_size"] - 2000)
        seen["huge_tail_sha"] = sha(huge.getvalue())
    else:
        seen["mlsd"] = {name: facts for name, facts in ftp.mlsd("/", facts=["type", "size"])}
        seen["nlst"] = sorted(ftp.nlst())

    seen["quit"] = ftp.quit()
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
