"""GB/T 26875.3-2011 (城市消防远程监控系统 第3部分：报警传输网络通信协议): the TCP door for fire
alarm transmission devices. See docs/gb26875.md."""
