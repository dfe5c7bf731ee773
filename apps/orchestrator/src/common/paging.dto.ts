import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, Max, Min } from 'class-validator';

/** limit/offset as the spec defines them. */
export class PagingQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 50, description: 'Rows to return' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit: number = 50;

  @ApiPropertyOptional({ minimum: 0, default: 0, description: 'Rows to skip' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10_000_000)
  offset: number = 0;
}

/** `?force=true` on state-changing routes. */
export class ForceQuery {
  @ApiPropertyOptional({ default: false, description: 'Override the safety check' })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) =>
    value === 'true' ? true : value === 'false' ? false : value,
  )
  @IsBoolean()
  force: boolean = false;
}

/** Turns 'true'/'false' into booleans and leaves anything else for @IsBoolean to refuse. */
export const booleanString = ({ value }: { value: unknown }): unknown =>
  value === 'true' ? true : value === 'false' ? false : value;
