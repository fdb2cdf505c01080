/* fileio.c - whole-file reading and atomic writing (temp file + rename). */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rnnrt_read_file(const char *path, unsigned char **buf, size_t *size, rnnrt_error *err) {
  *buf = NULL;
  *size = 0;
  FILE *fp = fopen(path, "rb");
  if (!fp) return rnnrt_fail(err, "%s: cannot open: %s", path, strerror(errno));
  size_t cap = 1 << 16, len = 0;
  unsigned char *data = malloc(cap + 1);
  if (!data) {
    fclose(fp);
    return rnnrt_fail(err, "%s: out of memory", path);
  }
  for (;;) {
    if (len == cap) {
      if (cap > SIZE_MAX / 2 - 1 || (int64_t)cap > RNNRT_MAX_TENSOR_BYTES) {
        free(data);
        fclose(fp);
        return rnnrt_fail(err, "%s: file is too large", path);
      }
      size_t ncap = cap * 2;
      unsigned char *nd = realloc(data, ncap + 1);
      if (!nd) {
        free(data);
        fclose(fp);
        return rnnrt_fail(err, "%s: out of memory reading file (%zu bytes)", path, ncap);
      }
      data = nd;
      cap = ncap;
    }
    size_t got = fread(data + len, 1, cap - len, fp);
    len += got;
    if (got == 0) break;
  }
  if (ferror(fp)) {
    int e = errno;
    free(data);
    fclose(fp);
    return rnnrt_fail(err, "%s: cannot read: %s", path, e ? strerror(e) : "I/O error");
  }
  fclose(fp);
  data[len] = '\0';
  *buf = data;
  *size = len;
  return 0;
}

static void afile_release(rnnrt_afile *f) {
  free(f->path);
  free(f->tmp_path);
  memset(f, 0, sizeof *f);
}

int rnnrt_afile_open(rnnrt_afile *f, const char *path, rnnrt_error *err) {
  memset(f, 0, sizeof *f);
  size_t n = strlen(path) + 32;
  f->path = rnnrt_strdup(path);
  f->tmp_path = malloc(n);
  if (!f->path || !f->tmp_path) {
    afile_release(f);
    return rnnrt_fail(err, "%s: out of memory", path);
  }
  snprintf(f->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
  /* rename() would fail only at the end (after the other outputs were renamed): refuse now */
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    afile_release(f);
    return rnnrt_fail(err, "%s: cannot create file: %s", path, strerror(EISDIR));
  }
  FILE *fp = fopen(f->tmp_path, "wbx");
  if (!fp && errno == EEXIST) { /* stale temp file of a dead process with our pid */
    remove(f->tmp_path);
    fp = fopen(f->tmp_path, "wbx");
  }
  if (!fp) {
    int e = errno;
    afile_release(f);
    return rnnrt_fail(err, "%s: cannot create file: %s", path, strerror(e));
  }
  f->fp = fp;
  return 0;
}

void rnnrt_afile_write(rnnrt_afile *f, const void *data, size_t n) {
  if (!f->fp || f->failed || n == 0) return;
  if (fwrite(data, 1, n, (FILE *)f->fp) != n) f->failed = errno ? errno : EIO;
}

int rnnrt_afile_finish(rnnrt_afile *f, rnnrt_error *err) {
  if (!f->fp) return rnnrt_fail(err, "%s: internal error: file not open", f->path ? f->path : "?");
  FILE *fp = f->fp;
  f->fp = NULL;
  int e = f->failed;
  if (!e && fflush(fp) != 0) e = errno ? errno : EIO;
  if (!e && ferror(fp)) e = EIO;
  if (fclose(fp) != 0 && !e) e = errno ? errno : EIO;
  if (e) {
    rnnrt_fail(err, "%s: cannot write: %s", f->path, strerror(e));
    rnnrt_afile_abort(f);
    return -1;
  }
  return 0;
}

int rnnrt_afile_rename(rnnrt_afile *f, rnnrt_error *err) {
  if (!f->tmp_path) return rnnrt_fail(err, "internal error: file not prepared");
  if (rename(f->tmp_path, f->path) != 0) {
    rnnrt_fail(err, "%s: cannot write: rename failed: %s", f->path, strerror(errno));
    rnnrt_afile_abort(f);
    return -1;
  }
  afile_release(f);
  return 0;
}

int rnnrt_afile_commit(rnnrt_afile *f, rnnrt_error *err) {
  if (rnnrt_afile_finish(f, err) != 0) return -1;
  return rnnrt_afile_rename(f, err);
}

void rnnrt_afile_abort(rnnrt_afile *f) {
  if (!f) return;
  if (f->fp) fclose((FILE *)f->fp);
  f->fp = NULL;
  if (f->tmp_path) remove(f->tmp_path);
  afile_release(f);
}
