# Production image: slim Python, non-root user, `dsr serve` against PostgreSQL.
#   docker build -t connect2ip-dsr .
#   docker run -e DSR_DATABASE_URL=postgresql+asyncpg://... -e DSR_PUBLIC_URL=https://... \
#              -e DSR_JWT_PUBLIC_KEY=/run/secrets/jwt.pem ... -p 8000:8000 connect2ip-dsr
# DSR_ENV=production is set here: only production may bind 0.0.0.0, and `dsr serve` refuses
# to start while any setting is unsafe, listing them all (see the README's Settings).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install --no-cache-dir --upgrade pip \
 && pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DSR_ENV=production DSR_HOST=0.0.0.0 DSR_PORT=8000
RUN useradd --system --uid 10001 --home-dir /srv/dsr --create-home dsr
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER dsr
WORKDIR /srv/dsr
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["dsr", "serve"]
