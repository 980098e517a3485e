// floor_atomic: the C floor (../shared/bench/floor.c) doing what DESIGN.md §4 asks of a sync.
// Walks SRC with fts, single-threaded, like floor.c; each video's .strm is read and compared
// and, when different, written to a temp sibling and renamed over; each metadata file
// whose target is missing is copied to a temp sibling, given the source's mtime and
// renamed. No database, no planning: the syscalls a first sync cannot avoid, in C.
// Usage: floor_atomic SRC DST (extensions: bench_sync.py's MEDIA_EXTS and META_EXTS).
#define _GNU_SOURCE
#include <fcntl.h>
#include <fts.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *MEDIA[] = {".mkv", ".mp4", ".avi", ".ts", ".m2ts", ".mov", ".webm", 0};
static const char *META[] = {".nfo", ".jpg", ".jpeg", ".png", ".srt", ".ass", ".vtt", 0};

static int has_ext(const char *name, const char **exts) {
    const char *e = strrchr(name, '.');
    if (!e) return 0;
    for (; *exts; exts++)
        if (!strcasecmp(e, *exts)) return 1;
    return 0;
}

static void temp_of(const char *path, char *tmp, size_t cap) {
    const char *slash = strrchr(path, '/');
    size_t head = slash - path + 1;
    snprintf(tmp, cap, "%.*s.%s.strmsync-tmp", (int)head, path, slash + 1);
}

static char buf[1 << 18];

static int write_atomic(const char *out, const char *data, size_t n) {
    char tmp[8192];
    temp_of(out, tmp, sizeof tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    int ok = write(fd, data, n) == (ssize_t)n;
    if (close(fd) != 0 || !ok || rename(tmp, out) != 0) { unlink(tmp); return -1; }
    return 0;
}

static int copy_atomic(const char *src, const char *out) {
    char tmp[8192];
    struct stat st;
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) return -1;
    temp_of(out, tmp, sizeof tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0 || fstat(in, &st) != 0) { close(in); if (fd >= 0) close(fd); return -1; }
    ssize_t got;
    int ok = 1;
    while ((got = read(in, buf, sizeof buf)) > 0)
        if (write(fd, buf, got) != got) { ok = 0; break; }
    struct timespec times[2] = {st.st_mtim, st.st_mtim};
    ok = ok && got == 0 && futimens(fd, times) == 0;
    close(in);
    if (close(fd) != 0 || !ok || rename(tmp, out) != 0) { unlink(tmp); return -1; }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: floor_atomic SRC DST\n"); return 2; }
    char *src = argv[1], *dst = argv[2], *av[] = {src, 0};
    size_t sl = strlen(src);
    FTS *f = fts_open(av, FTS_PHYSICAL | FTS_NOSTAT, 0);
    FTSENT *e;
    long written = 0, skipped = 0, copied = 0, failed = 0;
    char out[8192], cmp[8192];
    while ((e = fts_read(f))) {
        if (e->fts_info == FTS_D) {
            snprintf(out, sizeof out, "%s%s", dst, e->fts_path + sl);
            mkdir(out, 0755);
            continue;
        }
        if (e->fts_info != FTS_F && e->fts_info != FTS_NSOK) continue;
        snprintf(out, sizeof out, "%s%s", dst, e->fts_path + sl);
        if (has_ext(e->fts_name, MEDIA)) {
            strcpy(strrchr(out, '.'), ".strm");
            size_t wl = strlen(e->fts_path);
            int fd = open(out, O_RDONLY | O_CLOEXEC);
            if (fd >= 0) {
                ssize_t n = read(fd, cmp, sizeof cmp);
                close(fd);
                if (n == (ssize_t)wl && !memcmp(cmp, e->fts_path, wl)) { skipped++; continue; }
            }
            if (write_atomic(out, e->fts_path, wl) == 0) written++; else failed++;
        } else if (has_ext(e->fts_name, META)) {
            struct stat st;
            if (lstat(out, &st) == 0) { skipped++; continue; }
            if (copy_atomic(e->fts_path, out) == 0) copied++; else failed++;
        }
    }
    fts_close(f);
    // written= counts copies too: the bench reads "written=W skipped=S" as floor.c prints it.
    printf("written=%ld skipped=%ld copied=%ld failed=%ld\n", written + copied, skipped, copied,
           failed);
    return failed != 0;
}
