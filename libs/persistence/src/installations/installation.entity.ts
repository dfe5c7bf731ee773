import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { bigintToNumber } from '../database/transformers';

/** A GitHub App installation, kept current from `installation*` events. */
@Entity({ name: 'github_installations' })
export class InstallationEntity {
  @PrimaryColumn({ type: 'bigint', transformer: bigintToNumber })
  id!: number;

  @Column({ name: 'account_login', type: 'varchar', length: 255, nullable: true })
  accountLogin!: string | null;

  @Column({ name: 'account_type', type: 'varchar', length: 32, nullable: true })
  accountType!: string | null;

  @Column({ name: 'repository_selection', type: 'varchar', length: 16, nullable: true })
  repositorySelection!: string | null;

  @Column({ name: 'last_action', type: 'varchar', length: 32 })
  lastAction!: string;

  @Column({ name: 'suspended', type: 'boolean' })
  suspended!: boolean;

  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true })
  deletedAt!: Date | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

/** A repository an installation can reach; `removed_at` is set when access is withdrawn. */
@Entity({ name: 'github_installation_repositories' })
export class InstallationRepositoryEntity {
  @PrimaryColumn({ name: 'installation_id', type: 'bigint', transformer: bigintToNumber })
  installationId!: number;

  @PrimaryColumn({ type: 'varchar', length: 255 })
  repository!: string;

  @Column({ name: 'removed_at', type: 'timestamptz', nullable: true })
  removedAt!: Date | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
