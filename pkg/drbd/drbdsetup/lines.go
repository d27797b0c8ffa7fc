package drbdsetup

import (
	"bufio"
	"bytes"
	"io"
)

// lineReader splits a stream into lines without ever holding more than max
// bytes of one line: the rest of a longer line is read and dropped.
type lineReader struct {
	r   *bufio.Reader
	max int
	// buf gathers a line that does not fit in r's buffer.
	buf []byte
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64*1024), max: max}
}

// next returns the next line without its "\n" or "\r\n", valid until the
// next call, and its length. For a line of more than max bytes, newline
// included, length is its full length and line only its first maxLogLine+1
// bytes. At the end of the stream next returns io.EOF.
func (l *lineReader) next() (line []byte, length int, err error) {
	if cap(l.buf) > 64*1024 {
		// Do not keep a long line's buffer for the short ones that follow.
		l.buf = nil
	}
	l.buf = l.buf[:0]
	long := false
	for {
		chunk, err := l.r.ReadSlice('\n')
		length += len(chunk)
		switch {
		case long || length > l.max:
			// Too long: keep only a prefix for the log.
			long = true
			l.buf = l.buf[:min(len(l.buf), maxLogLine+1)]
			if keep := min(maxLogLine+1-len(l.buf), len(chunk)); keep > 0 {
				l.buf = append(l.buf, chunk[:keep]...)
			}
		case err == nil && len(l.buf) == 0:
			// The common case: the whole line is in r's buffer.
			line = trimEOL(chunk)
			return line, len(line), nil
		default:
			l.buf = append(l.buf, chunk...)
		}
		switch err {
		case nil:
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if length == 0 {
				return nil, 0, io.EOF
			}
			// The last line, without a newline.
		default:
			return nil, 0, err
		}
		if long {
			return l.buf, length, nil
		}
		line = trimEOL(l.buf)
		return line, len(line), nil
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}
