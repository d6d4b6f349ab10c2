from enum import StrEnum

class ProblemType(StrEnum):
    HTTPSDSR_CONNECT2IP_SEPROBLEMSBAD_REQUEST = "https://dsr.connect2ip.se/problems/bad-request"
    HTTPSDSR_CONNECT2IP_SEPROBLEMSCONFLICT = "https://dsr.connect2ip.se/problems/conflict"
    HTTPSDSR_CONNECT2IP_SEPROBLEMSFORBIDDEN = "https://dsr.connect2ip.se/problems/forbidden"
    HTTPSDSR_CONNECT2IP_SEPROBLEMSHEADERS_TOO_LARGE = "https://dsr.connect2ip.se/problems/headers-too-large"
    HTTPSDSR_CONNECT2IP_SEPROBLEMSIDEMPOTENCY_KEY_REUSED = "https://dsr.connect2ip.se/problems/idempotency-key-reused"
    HTTPSDSR_CONNECT2IP_SEPROBLEMSINTERNAL_ERROR = "https://dsr.connect2ip.se/problems/internal-error"
    HTTPSDSR_CONNECT2IP_SEPROBLEMSINVALID_CURSOR = "https://dsr.connect2ip.se/problems/invalid-cursor"
    HTTPSDSR_CONNECT2IP_SEPROBLEMSINVALID_SIGNATURE = "https://dsr.connect2ip.se/problems/invalid-signature"
    HTTPSDSR_CONNECT2IP_SEPROBLEMSINVALID_STATE = "https://dsr.connect2ip.se/problems/invalid-state"
    HTTPSDSR_CONNECT2IP_SEPROBLEMSMALFORMED_JSON = "https://dsr.connect2ip.se/problems/malformed-json"
    HTTPSDSR_CONNECT2IP_SEPROBLEMSMETHOD_NOT_ALLOWED = "https://dsr.connect2ip.se/problems/method-not-allowed"
    HTTPSDSR_CONNECT2IP_SEPROBLEMSNOT_FOUND = "https://dsr.connect2ip.se/problems/not-found"
    HTTPSDSR_CONNECT2IP_SEPROBLEMSPAYLOAD_TOO_LARGE = "https://dsr.connect2ip.se/problems/payload-too-large"
    HTTPSDSR_CONNECT2IP_SEPROBLEMSRANGE_NOT_SATISFIABLE = "https://dsr.connect2ip.se/problems/range-not-satisfiable"
    HTTPSDSR_CONNECT2IP_SEPROBLEMSRESPONSE_NOT_READY = "https://dsr.connect2ip.se/problems/response-not-ready"
    HTTPSDSR_CONNECT2IP_SEPROBLEMSRESPONSE_PURGED = "https://dsr.connect2ip.se/problems/response-purged"
    HTTPSDSR_CONNECT2IP_SEPROBLEMSUNAUTHORIZED = "https://dsr.connect2ip.se/problems/unauthorized"
    HTTPSDSR_CONNECT2IP_SEPROBLEMSVALIDATION_ERROR = "https://dsr.connect2ip.se/problems/validation-error"

    def __str__(self) -> str:
        return str(self.value)
