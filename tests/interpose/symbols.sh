#!/usr/bin/env bash
# Every name: each function the interposer hooks must be exported under every name real programs
# import it by. glibc defines several symbols for one function (fcntl and fcntl64, __read_chk for
# _FORTIFY_SOURCE builds, __poll, …); a program or library built "the other way" calls a name the
# preload does not define, and that call bypasses grove without a word.
#
# The hooks are not listed here: they are the preload's own exports that libc.so.6 also defines.
# A hook's family is every public libc symbol with the same base name, where the base strips a
# __libc_ or __xpg_ prefix, leading underscores, a _chk suffix, then a 64 suffix
# (__read_chk -> read, fcntl64 -> fcntl, __poll -> poll, sendfile64 -> sendfile).
# The imports are read from real Debian binaries and libraries (the list below, plus the shared
# libraries they load, except glibc's own); an import in a family whose name the preload does not
# export fails the test, naming the binary, the symbol and the hook.
#
# usage: symbols.sh PATH/TO/libgrove_preload.so
set -uo pipefail
preload="$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

libdir=/usr/lib/x86_64-linux-gnu
required=(
  "$libdir/libcurl.so.4" "$libdir/libpq.so.5" "$libdir/libhiredis.so" "$libdir/libgnutls.so.30"
  "$libdir/libssl.so.3" "$libdir/libcrypto.so.3"
  /usr/bin/python3.11 /usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so
  /usr/bin/socat /usr/bin/curl /usr/bin/wget /usr/bin/redis-server /usr/bin/redis-cli
  /usr/lib/postgresql/15/bin/psql /usr/lib/postgresql/15/bin/postgres /bin/bash /usr/sbin/nginx
)

libc=$(ldconfig -p | awk '/libc\.so\.6 .*x86-64/ { print $NF; exit }')
[ -n "$libc" ] && [ -f "$libc" ] || { echo "FAIL cannot find libc.so.6"; exit 1; }
[ -f "$preload" ] || { echo "FAIL no preload library at '$preload'"; exit 1; }

# base NAME: the family a libc symbol belongs to (awk, so that it runs once per list, not per name)
base_awk='function base(s) { sub(/@.*/, "", s); sub(/^__libc_/, "", s); sub(/^__xpg_/, "", s);
  sub(/^_+/, "", s); sub(/_chk$/, "", s); sub(/64$/, "", s); return s }'

# Public function symbols of libc (GLIBC_PRIVATE ones cannot be linked against by programs).
nm -D --defined-only "$libc" | awk '$2 ~ /^[TWi]$/ && $3 !~ /GLIBC_PRIVATE/ { sub(/@.*/, "", $3); print $3 }' |
  sort -u >"$work/libc"
# The preload's exported C functions (its C++ symbols are grove's own).
nm -D --defined-only "$preload" | awk '$2 ~ /^[TWi]$/ && $3 !~ /^_Z/ { sub(/@.*/, "", $3); print $3 }' |
  sort -u >"$work/preload"
comm -12 "$work/libc" "$work/preload" >"$work/hooks"
# families: "variant base" for every libc symbol whose base is the base of a hook
awk "$base_awk"' FNR == NR { hooked[base($1)] = 1; next } (base($1) in hooked) { print $1, base($1) }' \
  "$work/hooks" "$work/libc" | sort -u >"$work/families"
awk 'FNR == NR { ex[$1] = 1; next } !($1 in ex)' "$work/preload" "$work/families" >"$work/unexported"

# The check must not pass because the pipeline read nothing.
nhooks=$(wc -l <"$work/hooks")
[ "$nhooks" -ge 20 ] || fail "only $nhooks hooked libc functions found in $preload (nm broken?)"
grep -qx '__read_chk read' "$work/families" || fail "family of read does not contain __read_chk (family derivation broken)"
grep -q ' fcntl$' "$work/families" || fail "no fcntl family: the preload does not hook fcntl under any name"
echo "hooks: $nhooks libc functions exported by $(basename "$preload"), $(awk '{print $2}' "$work/families" | sort -u | wc -l) families"

# The binaries: the required list, plus the shared libraries they load (glibc's own excluded:
# they call libc's internal aliases, which no preload can see).
: >"$work/binaries"
for b in "${required[@]}"; do
  if [ -f "$b" ]; then
    echo "$b" >>"$work/binaries"
    ldd "$b" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' >>"$work/binaries"
  else
    fail "$b is missing (.ci/setup installs it)"
  fi
done
# one line per file: its real path, then the name it was found under (first one wins)
while read -r b; do echo "$(realpath "$b") $b"; done <"$work/binaries" | sort -u -k1,1 | while read -r real b; do
  case "$(basename "$real")" in
    libc.so.6 | libc-* | ld-linux* | libm.so.6 | libpthread.so.0 | libdl.so.2 | librt.so.1 | libresolv.so.2 | \
      libanl.so.1 | libutil.so.1 | libnss_* | libmvec.so.1 | libBrokenLocale.so.1 | libthread_db.so.1) continue ;;
  esac
  echo "$real $b"
done >"$work/scan"

scanned=0
while read -r real b; do
  nm -D --undefined-only "$real" 2>/dev/null | awk '{ sub(/@.*/, "", $2); print $2 }' | sort -u >"$work/imports"
  nlibc=$(comm -12 "$work/imports" "$work/libc" | wc -l)
  if [ "$nlibc" -eq 0 ]; then
    printf '%s\n' "${required[@]}" | grep -qxF "$b" && fail "$b: no libc imports read (nm -D failed?)"
    continue
  fi
  scanned=$((scanned + 1))
  # imports in a hooked family that the preload does not export
  while read -r sym fam; do
    exported=$(awk -v f="$fam" '$2 == f { print $1 }' "$work/families" | grep -xFf - "$work/preload" | tr '\n' ' ')
    fail "$(basename "$b") imports '$sym', a name of the hooked function '$fam', but $(basename "$preload") does not export '$sym' (it exports: ${exported% }): these calls bypass grove  [$b]"
    echo "$sym $fam $(basename "$b")" >>"$work/missing"
  done < <(awk 'FNR == NR { imp[$1] = 1; next } ($1 in imp) { print }' "$work/imports" "$work/unexported")
done <"$work/scan"
echo "scanned $scanned binaries and libraries for imports of hooked functions"
[ "$scanned" -ge "${#required[@]}" ] || fail "only $scanned binaries scanned"

# For the record: the names in hooked families that the preload lacks, and who imports them.
if [ -f "$work/missing" ]; then
  echo "summary: names to export:"
  sort "$work/missing" | awk '{ who[$1] = who[$1] " " $3; fam[$1] = $2 } END { for (s in fam) print "  " s " (hook " fam[s] "), imported by" who[s] }' | sort
fi
rest=$(awk '{ print $1 }' "$work/unexported" | grep -vxFf <(awk '{ print $1 }' "$work/missing" 2>/dev/null) | tr '\n' ' ')
[ -n "$rest" ] && echo "note: libc also defines these names of hooked functions, not exported, imported by none of the above: $rest"
echo "$failures failures"
[ "$failures" -eq 0 ]
