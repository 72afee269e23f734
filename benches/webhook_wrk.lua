-- wrk script: POST the AdmissionReview in $REVIEW (a file) to /mutate, keep-alive.
local file = assert(io.open(os.getenv("REVIEW"), "rb"))
wrk.method = "POST"
wrk.path = "/mutate"
wrk.headers["Content-Type"] = "application/json"
wrk.body = file:read("*a")
file:close()
