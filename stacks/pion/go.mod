module rtcpeer

go 1.19
